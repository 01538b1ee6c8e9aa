import numpy as np
import polars as pl
import pytest

from hubscout.data.store import World, image_hashes
from hubscout.data.tasks import TASKS
from hubscout.errors import DatasetError


def test_the_world_is_written_and_read_back(tiny_world):
    world = World(tiny_world)
    assert world.summary["nodes"] >= 60 and world.summary["tasks"] == len(TASKS)
    assert world.probe_images.shape == (48 * 10, 32, 32, 3)
    assert len(world.pool_images) == len(world.pool_scenes) == 3000
    for name in ("nodes.parquet", "edges.parquet", "probe_index.parquet", "task_classes.parquet"):
        assert (tiny_world / name).is_file()


def test_internal_nodes_pool_their_descendants_probes(tiny_world):
    index = World(tiny_world).probe_index
    counts = dict(index.group_by("node_id").len().iter_rows())
    assert counts["red"] == 10
    assert counts["warm colour"] == 10 * 6
    assert counts["character"] == 10 * 20
    assert index.filter(pl.col("node_id") == "polygon")["direct"].sum() == 0


def test_probe_scenes_show_their_node(tiny_world):
    scenes = pl.read_parquet(tiny_world / "probe_scenes.parquet")
    crimson = scenes.filter(pl.col("node_id") == "crimson")
    assert set(crimson["colour"]) == {"crimson"}


def test_task_splits(tiny_world):
    world = World(tiny_world)
    assert world.class_names("swatches") == ["crimson", "navy", "olive"]
    train, test = world.split("swatches", "train"), world.split("swatches", "test")
    assert train.images.shape == (30, 32, 32, 3) and test.images.shape == (60, 32, 32, 3)
    assert np.bincount(test.labels).tolist() == [20, 20, 20]
    assert not set(image_hashes(train.images)) & set(image_hashes(test.images))
    assert world.tasks.filter(pl.col("held_out")).height >= 3


def test_unknown_task_and_missing_world(tiny_world, tmp_path):
    with pytest.raises(DatasetError, match="no task 'nope'"):
        World(tiny_world).split("nope", "test")
    with pytest.raises(DatasetError, match="no world"):
        World(tmp_path)
