"""Great Expectations suites for the world and its task splits.

Each suite validates one pandas frame derived from the world's files (GX takes pandas, not
Polars). A failing suite raises DataValidationError naming every failing expectation, which
stops the DVC stage.
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.store import SPLITS, World
from hubscout.errors import HubscoutError


class DataValidationError(HubscoutError):
    """The world's data broke one or more expectations."""


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one suite."""

    suite: str
    evaluated: int
    failed: list[str]


def _array_stats(world: World) -> pl.DataFrame:
    rows = []
    arrays = {"probes": world.probe_images, "pool": world.pool_images}
    for task_name in world.tasks["task"]:
        for split in SPLITS:
            arrays[f"{task_name}/{split}"] = world.split(task_name, split).images
    for name, images in arrays.items():
        rows.append(
            {
                "array": name,
                "dtype": str(images.dtype),
                "ndim": images.ndim,
                "height": images.shape[1],
                "width": images.shape[2],
                "channels": images.shape[-1],
                "min": int(images.min()),
                "max": int(images.max()),
                "count": len(images),
            }
        )
    return pl.DataFrame(rows)


def world_frames(world_dir: Path) -> dict[str, pl.DataFrame]:
    """The frames each suite checks."""
    world = World(world_dir)
    task_images = pl.read_parquet(world_dir / "task_images.parquet")
    balance = (
        task_images.group_by("task", "split", "label")
        .len()
        .group_by("task", "split")
        .agg((pl.col("len").min() / pl.col("len").max()).alias("balance"))
    )
    train_test = task_images.filter(pl.col("split").is_in(["train", "test"])).with_columns(
        (pl.col("task") + "/" + pl.col("image_hash")).alias("task_image")
    )
    probes = world.probe_index.filter(pl.col("direct")).group_by("node_id").len()
    leaves = (
        world.nodes.filter(pl.col("is_leaf"))
        .join(probes, on="node_id", how="left")
        .with_columns(pl.col("len").fill_null(0).alias("probe_count"))
    )
    node_ids = set(world.nodes["node_id"])
    classes = world.task_classes.with_columns(
        pl.col("nodes").list.len().alias("n_nodes"),
        pl.col("nodes")
        .map_elements(lambda ns: all(n in node_ids for n in ns), return_dtype=pl.Boolean)
        .alias("nodes_exist"),
    )
    return {
        "arrays": _array_stats(world),
        "balance": balance,
        "train_test": train_test.select("task", "split", "task_image"),
        "leaves": leaves.select("node_id", "probe_count"),
        "classes": classes.select("task", "class_name", "n_nodes", "nodes_exist"),
    }


def world_expectations(image_size: int, probes_per_leaf: int) -> dict[str, list]:
    """The expectations of each suite."""
    import great_expectations.expectations as gxe

    return {
        "arrays": [
            gxe.ExpectColumnValuesToBeInSet(column="dtype", value_set=["uint8"]),
            gxe.ExpectColumnValuesToBeInSet(column="ndim", value_set=[4]),
            gxe.ExpectColumnValuesToBeInSet(column="height", value_set=[image_size]),
            gxe.ExpectColumnValuesToBeInSet(column="width", value_set=[image_size]),
            gxe.ExpectColumnValuesToBeInSet(column="channels", value_set=[3]),
            gxe.ExpectColumnValuesToBeBetween(column="min", min_value=0, max_value=255),
            gxe.ExpectColumnValuesToBeBetween(column="max", min_value=1, max_value=255),
            gxe.ExpectColumnValuesToBeBetween(column="count", min_value=1),
        ],
        "balance": [
            gxe.ExpectColumnValuesToBeBetween(column="balance", min_value=1.0, max_value=1.0)
        ],
        "train_test": [gxe.ExpectColumnValuesToBeUnique(column="task_image")],
        "leaves": [
            gxe.ExpectColumnValuesToBeBetween(column="probe_count", min_value=probes_per_leaf)
        ],
        "classes": [
            gxe.ExpectColumnValuesToBeBetween(column="n_nodes", min_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="nodes_exist", value_set=[True]),
        ],
    }


def run_suites(frames: dict[str, pl.DataFrame], expectations: dict[str, list]) -> list[SuiteResult]:
    """Validate every frame against its suite with an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name="world")
    results = []
    for name, frame in frames.items():
        batch_definition = source.add_dataframe_asset(
            name=name
        ).add_batch_definition_whole_dataframe("all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"world_{name}"))
        for expectation in expectations[name]:
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"world_{name}", data=batch_definition, suite=suite)
        )
        outcome = definition.run(batch_parameters={"dataframe": frame.to_pandas()})
        failed = [
            f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')}): "
            f"{r.result.get('unexpected_count', '?')} unexpected, e.g. "
            f"{r.result.get('partial_unexpected_list', [])[:3]}"
            for r in outcome.results
            if not r.success
        ]
        results.append(SuiteResult(name, len(outcome.results), failed))
    return results


@task(name="validate-world")
def validate_world(world_dir: Path, image_size: int, probes_per_leaf: int) -> list[SuiteResult]:
    """Run every world suite; raise DataValidationError listing the failing expectations."""
    results = run_suites(world_frames(world_dir), world_expectations(image_size, probes_per_leaf))
    failures = [f"{r.suite}: {f}" for r in results for f in r.failed]
    if failures:
        raise DataValidationError("the world failed validation:\n  " + "\n  ".join(failures))
    return results
