"""How well starter models do: zero-shot accuracy of VLMs on the world's tasks."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from hubscout.data.datasets import ImageDataset
from hubscout.data.store import World
from hubscout.features import extract_features
from hubscout.models.base import VisionLanguageModel

PROMPT_TEMPLATES = ("{}", "a {}", "a picture of a {}")


def class_text_embeddings(
    model: VisionLanguageModel,
    class_names: Sequence[str],
    templates: Sequence[str] = PROMPT_TEMPLATES,
) -> np.ndarray:
    """One L2-normalised text embedding per class, averaged over the prompt templates."""
    texts = [template.format(name) for name in class_names for template in templates]
    embeddings = model.encode_texts(texts).reshape(len(class_names), len(templates), -1)
    embeddings = embeddings.mean(axis=1)
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def zero_shot_scores(image_features: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """100 * cos(image, class text) [N, C] in float64; text embeddings are unit length."""
    images = image_features.astype(np.float64)
    images /= np.linalg.norm(images, axis=1, keepdims=True).clip(min=1e-12)
    return 100.0 * images @ text_embeddings.astype(np.float64).T


def zero_shot_accuracy(
    model: VisionLanguageModel, class_names: Sequence[str], images: np.ndarray, labels: np.ndarray
) -> float:
    """Zero-shot accuracy of `model` on labelled images."""
    scores = zero_shot_scores(
        model.image_features(images), class_text_embeddings(model, class_names)
    )
    return float(np.mean(scores.argmax(axis=1) == labels))


def task_zero_shot_scores(
    world: World,
    task: str,
    models: dict[str, VisionLanguageModel],
    cache_root: Path,
    split: str = "test",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Zero-shot scores [N, C] of every VLM on one split of a task, and the labels.

    Image features come from the feature cache, so a second call costs only the text side.
    """
    data = world.split(task, split)
    dataset = ImageDataset(f"{task}-{split}", data.images, data.labels)
    class_names = world.class_names(task)
    scores = {}
    for name, model in models.items():
        features = extract_features(model, dataset, cache_root, show_progress=False).features
        scores[name] = zero_shot_scores(features, class_text_embeddings(model, class_names))
    return scores, data.labels


def zero_shot_table(
    world: World, models: dict[str, VisionLanguageModel], cache_root: Path, split: str = "test"
) -> pl.DataFrame:
    """Zero-shot accuracy of every VLM on every task: model, task, held_out, accuracy, chance."""
    rows = []
    for task, held_out, n_classes in world.tasks.select(
        "task", "held_out", "n_classes"
    ).iter_rows():
        scores, labels = task_zero_shot_scores(world, task, models, cache_root, split)
        for name, task_scores in scores.items():
            accuracy = float(np.mean(task_scores.argmax(axis=1) == labels))
            rows.append((name, task, held_out, accuracy, 1 / n_classes))
    schema = ["model", "task", "held_out", "accuracy", "chance"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def best_model_per_task(table: pl.DataFrame) -> pl.DataFrame:
    """task, best model, its accuracy (ties go to the first model in name order)."""
    return (
        table.sort(["task", "accuracy", "model"], descending=[False, True, False])
        .group_by("task", maintain_order=True)
        .first()
        .select("task", pl.col("model").alias("best_model"), "accuracy")
    )
