import shutil

import numpy as np
import polars as pl
import pytest

from tasks.validation import DataValidationError, validate_world


@pytest.fixture
def world_copy(tiny_world, tmp_path):
    target = tmp_path / "world"
    shutil.copytree(tiny_world, target)
    return target


def test_the_built_world_passes_every_suite(tiny_world):
    results = validate_world.fn(tiny_world, image_size=32, probes_per_leaf=10)
    assert {r.suite for r in results} == {"arrays", "balance", "train_test", "leaves", "classes"}
    assert all(not r.failed for r in results)
    assert sum(r.evaluated for r in results) == 13


def test_an_image_in_both_train_and_test_fails(world_copy):
    frame = pl.read_parquet(world_copy / "task_images.parquet")
    leaked = frame.filter((pl.col("task") == "digits") & (pl.col("split") == "train")).head(1)
    frame = pl.concat([frame, leaked.with_columns(pl.lit("test").alias("split"))])
    frame.write_parquet(world_copy / "task_images.parquet")
    with pytest.raises(DataValidationError, match="train_test: expect_column_values_to_be_unique"):
        validate_world.fn(world_copy, image_size=32, probes_per_leaf=10)


def test_a_leaf_without_probes_and_a_wrong_image_size_fail(world_copy):
    index = pl.read_parquet(world_copy / "probe_index.parquet")
    index.filter(pl.col("node_id") != "teal").write_parquet(world_copy / "probe_index.parquet")
    with np.load(world_copy / "tasks" / "sizes.npz") as archive:
        arrays = dict(archive)
    arrays["test_images"] = np.zeros((4, 16, 16, 3), np.uint8)
    np.savez(world_copy / "tasks" / "sizes.npz", **arrays)
    with pytest.raises(DataValidationError) as caught:
        validate_world.fn(world_copy, image_size=32, probes_per_leaf=10)
    message = str(caught.value)
    assert "leaves: expect_column_values_to_be_between(probe_count)" in message
    assert "arrays: expect_column_values_to_be_in_set(height)" in message
