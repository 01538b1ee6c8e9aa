import shutil

import numpy as np
import polars as pl
import pytest

from hubscout.data.store import World, image_hashes
from tasks.validation import DataValidationError, validate_labels, validate_world


@pytest.fixture
def world_copy(tiny_world, tmp_path):
    target = tmp_path / "world"
    shutil.copytree(tiny_world, target)
    return target


def test_the_built_world_passes_every_suite(tiny_world):
    results = validate_world.fn(tiny_world, image_size=32, probes_per_leaf=10)
    assert {r.suite for r in results} == {"arrays", "balance", "leakage", "leaves", "classes"}
    assert all(not r.failed for r in results)
    assert sum(r.evaluated for r in results) == 13


def _a_test_image(world_dir):
    image = World(world_dir).split("digits", "test").images[0]
    return image, image_hashes(image[None])[0]


@pytest.mark.parametrize("split", ["train", "val"])
def test_a_test_image_also_in_its_tasks_train_or_val_split_fails(world_copy, split):
    frame = pl.read_parquet(world_copy / "task_images.parquet")
    leaked = frame.filter((pl.col("task") == "digits") & (pl.col("split") == "test")).head(1)
    frame = pl.concat([frame, leaked.with_columns(pl.lit(split).alias("split"))])
    frame.write_parquet(world_copy / "task_images.parquet")
    with pytest.raises(DataValidationError) as caught:
        validate_world.fn(world_copy, image_size=32, probes_per_leaf=10)
    assert "leakage: expect_column_values_to_be_in_set(shared_with): 1 unexpected" in str(
        caught.value
    )
    assert f"['{split}']" in str(caught.value)


def test_a_test_image_in_the_training_pool_or_the_probes_fails(world_copy):
    image, digest = _a_test_image(world_copy)
    with np.load(world_copy / "pool.npz") as archive:
        pool = archive["images"].copy()
    pool[7] = image
    np.savez(world_copy / "pool.npz", images=pool)
    probes = pl.read_parquet(world_copy / "probe_scenes.parquet")
    probes.with_columns(
        pl.when(pl.col("image_index") == 3)
        .then(pl.lit(digest))
        .otherwise(pl.col("image_hash"))
        .alias("image_hash")
    ).write_parquet(world_copy / "probe_scenes.parquet")
    with pytest.raises(DataValidationError) as caught:
        validate_world.fn(world_copy, image_size=32, probes_per_leaf=10)
    assert "shared_with): 1 unexpected, e.g. ['pool,probes']" in str(caught.value)


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


def _label_rows(rows: list[tuple[str, str, float | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "node_id": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
            "label_version": pl.String,
        },
        orient="row",
    )


def test_a_sound_label_passes_and_each_broken_one_names_what_it_broke():
    good = _label_rows(
        [
            ("red", "f1_siblings", 0.8, "v1"),
            ("red", "score@blue", -0.2, "v1"),  # a mean similarity, not a rate
            ("blue", "acc_siblings", 1.0, "v1"),
            ("blue", "informedness_siblings", -0.4, "v1"),  # below chance: within -1 and 1
        ]
    )
    broken = _label_rows(
        [
            ("red", "f1_siblings", 1.3, "v1"),
            ("red", "f1_siblings", 0.5, "v1"),
            ("moon", "f1_siblings", 0.5, "v2"),
            ("blue", "acc_siblings", None, "v1"),
            ("blue", "informedness_siblings", -1.5, "v1"),
        ]
    )
    checks = validate_labels.fn({"good": good, "broken": broken}, ["red", "blue"])
    assert checks["good"].failed == [] and checks["good"].evaluated == 7
    failed = " | ".join(checks["broken"].failed)
    assert len(checks["broken"].failed) == 6, failed
    for broken_expectation in (
        "expect_column_values_to_not_be_null(value)",
        "expect_column_values_to_be_in_set(node_id): 1 unexpected, e.g. ['moon']",
        "expect_compound_columns_to_be_unique",
        "expect_column_unique_value_count_to_be_between(label_version)",
        "expect_column_values_to_be_between(rate): 1 unexpected, e.g. [1.3]",
        "expect_column_values_to_be_between(signed): 1 unexpected, e.g. [-1.5]",
    ):
        assert broken_expectation in failed
    assert validate_labels.fn({}, ["red"]) == {}
