"""Feature extraction over an image dataset: batched, device-aware, cached and resumable.

Features are cached under a key of (model content hash, dataset content hash, preprocessing).
Extraction runs chunk by chunk; each finished chunk is stored atomically, so an interrupted
run resumes from the last finished chunk, and the chunks are merged into one entry at the end.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hubscout.cache import ArrayCache, cache_key
from hubscout.data.datasets import ImageDataset
from hubscout.models.base import ImageEncoder

FEATURE_FORMAT_VERSION = "features-v1"


@dataclass(frozen=True)
class FeatureResult:
    """Extracted features and where they came from."""

    features: np.ndarray
    key: str
    path: Path
    from_cache: bool
    chunks_computed: int


def feature_key(model: ImageEncoder, dataset: ImageDataset) -> str:
    """The cache key of `model`'s features of `dataset`."""
    return cache_key(
        FEATURE_FORMAT_VERSION,
        model.content_hash,
        dataset.content_hash,
        model.preprocessing.identity,
    )


def extract_features(
    model: ImageEncoder,
    dataset: ImageDataset,
    cache_root: Path,
    chunk_size: int = 2048,
    show_progress: bool = True,
) -> FeatureResult:
    """Features [N, D] (float32) of every image of `dataset`, from the cache when present."""
    key = feature_key(model, dataset)
    cache = ArrayCache(cache_root, "features")
    cached = cache.get(key)
    if cached is not None:
        return FeatureResult(cached["features"], key, cache.path(key), True, 0)

    chunks = ArrayCache(cache_root, f"features-chunks/{key}")
    starts = range(0, len(dataset), chunk_size)
    computed = 0
    parts: list[np.ndarray] = []
    with _progress(show_progress) as progress:
        task = progress.add_task(f"features {model.source}", total=len(dataset))
        for index, start in enumerate(starts):
            chunk_key = f"{index:06d}-{chunk_size}"
            stored = chunks.get(chunk_key)
            if stored is None:
                images = dataset.images[start : start + chunk_size]
                stored = {"features": model.image_features(images)}
                chunks.put(chunk_key, stored)
                computed += 1
            parts.append(stored["features"])
            progress.advance(task, len(parts[-1]))
    features = np.concatenate(parts)
    path = cache.put(key, {"features": features})
    for chunk_file in chunks.root.glob("*/*.npz"):
        chunk_file.unlink()
    return FeatureResult(features, key, path, False, computed)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=True,
    )
