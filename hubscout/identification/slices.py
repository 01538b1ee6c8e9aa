"""The training slice of every starter VLM and classifier: the data an RKME describes."""

import hashlib

import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.starter.catalog import ClassifierSpec, VLMSpec


def training_indices(spec: VLMSpec | ClassifierSpec, world: World) -> np.ndarray:
    """Indices into the world's pool of the scenes the model was trained on (a classifier:
    the scenes its labels cover; a VLM: the scenes its `where` selects)."""
    scenes = world.pool_scenes.with_row_index("index")
    if isinstance(spec, ClassifierSpec):
        return scenes.filter(pl.col(spec.label).is_in(list(spec.classes)))["index"].to_numpy()
    for column, values in spec.where.items():
        scenes = scenes.filter(pl.col(column).is_in(list(values)))
    return scenes["index"].to_numpy()


def slice_key(indices: np.ndarray) -> str:
    """Models with the same key were trained on the same images: unlabeled data cannot tell
    them apart, so identification is scored per slice."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]


def split_slice(
    indices: np.ndarray, samples: int, queries: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(spec part, query part) of a training slice, each sorted: `queries` indices held out
    for identification queries, the next `samples` for the RKME specification."""
    order = np.random.default_rng(seed).permutation(indices)
    return np.sort(order[queries : queries + samples]), np.sort(order[:queries])
