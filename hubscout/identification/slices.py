"""The training slice of every starter VLM and classifier: the data an RKME describes."""

import hashlib
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.starter.catalog import ClassifierRecipe, VLMRecipe


def training_indices(recipe: VLMRecipe | ClassifierRecipe, world: World) -> np.ndarray:
    """Indices into the world's pool of the scenes the model was trained on (a classifier:
    the scenes its labels cover; a VLM: the scenes its `where` selects)."""
    scenes = world.pool_scenes.with_row_index("index")
    if isinstance(recipe, ClassifierRecipe):
        return scenes.filter(pl.col(recipe.label).is_in(list(recipe.classes)))["index"].to_numpy()
    for column, values in recipe.where.items():
        scenes = scenes.filter(pl.col(column).is_in(list(values)))
    return scenes["index"].to_numpy()


def disjoint_models(indices: Mapping[str, np.ndarray]) -> dict[str, tuple[str, ...]]:
    """Slice key -> the models (sorted) trained on none of that slice's images, given every
    model's training indices: the only hub against which data of the slice is data that no
    hub model was trained on (a model of a larger slice that holds it was)."""
    pool = max((int(i.max()) + 1 for i in indices.values() if len(i)), default=0)
    masks = {name: np.isin(np.arange(pool), part) for name, part in indices.items()}
    return {
        slice_key(part): tuple(
            sorted(other for other, mask in masks.items() if not (mask & masks[name]).any())
        )
        for name, part in indices.items()
    }


def slice_key(indices: np.ndarray) -> str:
    """Models with the same key were trained on the same images: unlabeled data cannot tell
    them apart, so identification is scored per slice."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]


class SliceParts(NamedTuple):
    """Disjoint parts of a training slice, each sorted: the images the RKME specification
    summarises, the identification queries the benchmark reports on, and the tuning queries
    the RKME encoder is chosen on."""

    spec: np.ndarray
    queries: np.ndarray
    tuning: np.ndarray


def split_slice(
    indices: np.ndarray, samples: int, queries: int, tuning: int = 0, seed: int = 0
) -> SliceParts:
    """A training slice cut in a random order: the first `queries` indices for queries, the
    next `tuning` for tuning queries, the next `samples` for the RKME specification."""
    order = np.random.default_rng(seed).permutation(indices)
    spec_start = queries + tuning
    return SliceParts(
        spec=np.sort(order[spec_start : spec_start + samples]),
        queries=np.sort(order[:queries]),
        tuning=np.sort(order[queries:spec_start]),
    )
