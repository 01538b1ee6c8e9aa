import numpy as np

from hubscout.data.store import World
from hubscout.identification.slices import (
    disjoint_models,
    slice_key,
    split_slice,
    training_indices,
)
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS


def test_training_slices_follow_the_catalog(starter_data_dir):
    world = World(Settings().data_dir / "world")
    vlms, classifiers = {s.name: s for s in VLMS}, {s.name: s for s in CLASSIFIERS}
    shapes = training_indices(vlms["vlm-shapes"], world)
    kinds = world.pool_scenes["kind"].to_numpy()
    assert len(shapes) and (kinds[shapes] == "shape").all()
    everything = training_indices(vlms["vlm-generalist"], world)
    assert len(everything) == world.pool_scenes.height
    digits = training_indices(classifiers["clf-digits"], world)
    assert set(world.pool_scenes["symbol"].to_numpy()[digits]) <= set("0123456789")
    assert slice_key(everything) == slice_key(training_indices(vlms["vlm-colours"], world))
    assert slice_key(everything) != slice_key(shapes)


def test_a_slice_splits_into_disjoint_spec_query_and_tuning_parts():
    indices = np.arange(100, 130)
    parts = split_slice(indices, samples=12, queries=10, tuning=5, seed=3)
    order = np.random.default_rng(3).permutation(indices)  # the cut, by hand
    assert parts.queries.tolist() == sorted(order[:10].tolist())
    assert parts.tuning.tolist() == sorted(order[10:15].tolist())
    assert parts.spec.tolist() == sorted(order[15:27].tolist())
    short = split_slice(indices, samples=40, queries=10, tuning=5, seed=3)
    assert len(short.spec) == 15  # a small slice gives its spec what the queries leave
    assert split_slice(indices, 12, 10, seed=3).queries.tolist() == parts.queries.tolist()


def test_a_slices_disjoint_models_are_those_trained_on_none_of_its_images():
    indices = {
        "all": np.arange(10),
        "low": np.arange(5),
        "low-too": np.arange(5),
        "high": np.arange(5, 10),
        "top": np.array([9]),
    }
    disjoint = disjoint_models(indices)
    key = {name: slice_key(part) for name, part in indices.items()}
    assert len(disjoint) == 4  # low and low-too share one slice
    assert disjoint[key["all"]] == ()  # every model saw some of it
    assert disjoint[key["low"]] == ("high", "top")
    assert disjoint[key["high"]] == ("low", "low-too")
    assert disjoint[key["top"]] == ("low", "low-too")
