"""Score hub models on a labeled image dataset: features from the cache, source heads, and
every requested metric; and the per-task benchmark on the world's tasks.

A model's source head: a classifier's own softmax; for a VLM, its zero-shot softmax over the
concept graph's leaf names (the hub's shared vocabulary), so LEEP and NCE score VLMs too.
"""

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from rich.progress import track

from hubscout.data.datasets import ImageDataset, load_image_dataset
from hubscout.data.store import World
from hubscout.errors import DatasetError, TransferabilityInputError
from hubscout.features import extract_features
from hubscout.models.base import ImageClassifier, ImageEncoder, VisionLanguageModel
from hubscout.reuse.ensemble import softmax
from hubscout.starter.evaluation import class_text_embeddings, zero_shot_scores
from hubscout.transferability.ground_truth import (
    GROUND_TRUTH_LINEAR_PROBE,
    Split,
    cached_linear_probe,
)
from hubscout.transferability.suite import METRICS, score_pool
from hubscout.transferability.target import SaturationWarning, Target

SPLITS = ("train", "val", "test")


def source_probabilities(
    model: ImageEncoder, features: np.ndarray, images: np.ndarray, source_names: Sequence[str]
) -> np.ndarray | None:
    """The model's source-head probabilities [N, Cs] in float64, or None without a head."""
    if isinstance(model, ImageClassifier):
        probs = model.predict_proba(images).astype(np.float64)
        return probs / probs.sum(axis=1, keepdims=True)
    if isinstance(model, VisionLanguageModel):
        return softmax(zero_shot_scores(features, class_text_embeddings(model, source_names)))
    return None


def model_target(
    model: ImageEncoder,
    dataset: ImageDataset,
    cache_root: Path,
    source_names: Sequence[str],
    features: np.ndarray | None = None,
) -> Target:
    """The Target of `model` on a labeled dataset; features from the feature cache unless
    the caller already has them."""
    if features is None:
        features = extract_features(model, dataset, cache_root, show_progress=False).features
    probs = source_probabilities(model, features, dataset.images, source_names)
    return Target(features, dataset.labels, probs)


def score_models(
    targets: Mapping[str, Target], metric_names: Sequence[str], seed: int = 0
) -> pl.DataFrame:
    """model, metric, score, saturated for a pool, best first per metric. `saturated` marks
    scores whose in-sample fit is saturated (`Metric.saturated`; their SaturationWarning is
    recorded there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        scores = score_pool(targets, metric_names, seed)
    rows = [
        (
            model,
            metric,
            value,
            METRICS[metric].saturated(targets[model]),
        )
        for metric, by_model in scores.items()
        for model, value in by_model.items()
    ]
    schema = ["model", "metric", "score", "saturated"]
    return pl.DataFrame(rows, schema=schema, orient="row").sort(
        ["metric", "score"], descending=[False, True]
    )


def leaf_names(world: World) -> list[str]:
    """The concept graph's leaf names: the VLMs' source vocabulary."""
    return world.nodes.filter(pl.col("is_leaf"))["name"].to_list()


def task_dataset(world: World, task: str, split: str) -> ImageDataset:
    """One split of a world task as an ImageDataset."""
    data = world.split(task, split)
    return ImageDataset(f"{task}-{split}", data.images, data.labels, tuple(world.class_names(task)))


def labeled_part(world: World, task: str) -> ImageDataset:
    """The train + validation images of a world task: what a user would have labeled."""
    train, val = (task_dataset(world, task, split) for split in ("train", "val"))
    return ImageDataset(
        f"{task}-trainval",
        np.concatenate([train.images, val.images]),
        np.concatenate([train.labels, val.labels]),
        train.class_names,
    )


def labeled_dataset(world: World, task_or_path: str) -> ImageDataset:
    """A world task's labeled part, or a labeled dataset file or folder a user gives."""
    path = Path(task_or_path)
    if path.exists():
        dataset = load_image_dataset(path)
        if dataset.labels is None:
            raise DatasetError(
                f"{path} has no labels: add a 'labels' array to the .npz, or use a folder "
                "with one subfolder per class"
            )
        return dataset
    tasks = world.tasks["task"].to_list()
    if task_or_path not in tasks:
        raise DatasetError(
            f"{task_or_path!r} is neither a file or folder nor a world task; tasks: "
            + ", ".join(tasks)
        )
    return labeled_part(world, task_or_path)


def rank_models(
    dataset: ImageDataset,
    models: Mapping[str, ImageEncoder],
    cache_root: Path,
    source_names: Sequence[str],
    metric_names: Sequence[str],
    seed: int = 0,
) -> pl.DataFrame:
    """One row per model, one column per metric, ordered by the first metric (best first),
    and `saturated`: the metrics whose score for that model is saturated (`Metric.saturated`)."""
    targets = {
        name: model_target(model, dataset, cache_root, source_names)
        for name, model in track(models.items(), description="features", transient=True)
    }
    scores = score_models(targets, metric_names, seed)
    saturated = (
        scores.filter(pl.col("saturated"))
        .group_by("model")
        .agg(pl.col("metric").sort().str.join(",").alias("saturated"))
    )
    wide = scores.pivot(on="metric", index="model", values="score")
    return (
        wide.select("model", *metric_names)
        .join(saturated, on="model", how="left")
        .with_columns(pl.col("saturated").fill_null(""))
        .sort(metric_names[0], descending=True, nulls_last=True)
    )


def benchmark_task(
    world: World,
    task: str,
    models: Mapping[str, ImageEncoder],
    cache_root: Path,
    metric_names: Sequence[str],
    seed: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores (metrics on train + val) and linear-probe ground truth of every model on a task."""
    datasets = {split: task_dataset(world, task, split) for split in SPLITS}
    both = labeled_part(world, task)
    sources = leaf_names(world)
    targets, truth = {}, []
    for name, model in models.items():
        splits = {
            split: Split(
                extract_features(model, data, cache_root, show_progress=False).features,
                data.labels,
            )
            for split, data in datasets.items()
        }
        labeled = np.concatenate([splits["train"].features, splits["val"].features])
        targets[name] = model_target(model, both, cache_root, sources, labeled)
        probe = cached_linear_probe(splits["train"], splits["val"], splits["test"], cache_root)
        truth.append((name, probe.accuracy, probe.inverse_regularisation))
    scores = score_models(targets, metric_names, seed).with_columns(task=pl.lit(task))
    truth_frame = pl.DataFrame(
        truth, schema=["model", "accuracy", "inverse_regularisation"], orient="row"
    ).with_columns(task=pl.lit(task), ground_truth=pl.lit(GROUND_TRUTH_LINEAR_PROBE))
    return scores, truth_frame


def score_one_model(
    world: World,
    name: str,
    model: ImageEncoder,
    cache_root: Path,
    metric_names: Sequence[str],
    seed: int = 0,
) -> pl.DataFrame:
    """A model measured alone on every world task: task, accuracy and
    inverse_regularisation (its linear probe), and a column per metric. Pool-relative
    metrics (ETran, NCTI) mean nothing for one model and are refused."""
    relative = [metric for metric in metric_names if METRICS[metric].pool_relative]
    if relative:
        raise TransferabilityInputError(
            f"{', '.join(relative)} rank a pool: score them with the whole hub (the benchmark)"
        )
    rows = []
    for task in world.tasks["task"].to_list():
        scores, truth = benchmark_task(world, task, {name: model}, cache_root, metric_names, seed)
        rows.append(
            {"task": task, "accuracy": truth["accuracy"][0]}
            | {"inverse_regularisation": truth["inverse_regularisation"][0]}
            | dict(zip(scores["metric"], scores["score"], strict=True))
        )
    schema = {"task": pl.String, "accuracy": pl.Float64, "inverse_regularisation": pl.Float64}
    return pl.DataFrame(rows, schema=schema | dict.fromkeys(metric_names, pl.Float64))


def run_benchmark(
    world: World,
    models: Mapping[str, ImageEncoder],
    cache_root: Path,
    metric_names: Sequence[str],
    seed: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """benchmark_task over every world task: all scores and all ground truth."""
    parts = [
        benchmark_task(world, task, models, cache_root, metric_names, seed)
        for task in track(world.tasks["task"].to_list(), description="transferability")
    ]
    return pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts])
