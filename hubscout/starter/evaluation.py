"""How well starter models do: zero-shot accuracy of VLMs on the world's tasks."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from hubscout.data.datasets import ImageDataset
from hubscout.data.store import World
from hubscout.features import extract_features
from hubscout.models.base import ImageClassifier, VisionLanguageModel

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


def zero_shot_accuracy_from_features(
    image_features: np.ndarray, text_embeddings: np.ndarray, labels: np.ndarray
) -> float:
    """Fraction of images whose most similar class embedding is their label."""
    scores = image_features @ text_embeddings.T  # normalisation does not change the argmax
    return float(np.mean(scores.argmax(axis=1) == labels))


def zero_shot_accuracy(
    model: VisionLanguageModel, class_names: Sequence[str], images: np.ndarray, labels: np.ndarray
) -> float:
    """Zero-shot accuracy of `model` on labelled images."""
    text = class_text_embeddings(model, class_names)
    return zero_shot_accuracy_from_features(model.encode_images(images), text, labels)


def classifier_accuracy(model: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose most probable source class is their label."""
    return float(np.mean(model.predict_proba(images).argmax(axis=1) == labels))


def zero_shot_table(
    world: World, models: dict[str, VisionLanguageModel], cache_root: Path, split: str = "test"
) -> pl.DataFrame:
    """Zero-shot accuracy of every VLM on every task: model, task, held_out, accuracy, chance.

    Image features come from the feature cache, so a second call costs only the text side.
    """
    rows = []
    for task, held_out in world.tasks.select("task", "held_out").iter_rows():
        data = world.split(task, split)
        dataset = ImageDataset(f"{task}-{split}", data.images, data.labels)
        class_names = world.class_names(task)
        for name, model in models.items():
            features = extract_features(model, dataset, cache_root, show_progress=False).features
            text = class_text_embeddings(model, class_names)
            accuracy = zero_shot_accuracy_from_features(features, text, data.labels)
            rows.append((name, task, held_out, accuracy, 1 / len(class_names)))
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
