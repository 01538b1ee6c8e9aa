"""Great Expectations suites for the world and its task splits, and for model labels.

Each suite validates one pandas frame (GX takes pandas, not Polars). A failing world suite
raises DataValidationError naming every failing expectation, which stops the DVC stage; a
failing label suite fails that model only, with the failing expectations as its reason.
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.store import SPLITS, World, image_hashes
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


def shared_test_images(world: World, task_images: pl.DataFrame) -> pl.DataFrame:
    """Every test image of every task with the sets it also appears in: its task's train or
    val split, the hub's training pool or the probe sets ("" when none). Models are trained on
    the pool and labeled on the probes, and metrics see train and val, so a shared image would
    leak the test split into what is reported."""
    pool = set(image_hashes(world.pool_images))
    probes = set(pl.read_parquet(world.root / "probe_scenes.parquet")["image_hash"])
    test = task_images.filter(pl.col("split") == "test").select("task", "image_hash")
    seen = (
        task_images.filter(pl.col("split") != "test")
        .group_by("task", "image_hash")
        .agg(pl.col("split").unique().sort().alias("splits"))
    )
    return (
        test.join(seen, on=["task", "image_hash"], how="left")
        .with_columns(
            pl.col("splits").fill_null([]),
            pl.col("image_hash").is_in(list(pool)).alias("in_pool"),
            pl.col("image_hash").is_in(list(probes)).alias("in_probes"),
        )
        .with_columns(
            pl.concat_list(
                pl.col("splits"),
                pl.when(pl.col("in_pool")).then(pl.lit(["pool"])).otherwise(pl.lit([])),
                pl.when(pl.col("in_probes")).then(pl.lit(["probes"])).otherwise(pl.lit([])),
            )
            .list.join(",")
            .alias("shared_with")
        )
        .select("task", "image_hash", "shared_with")
    )


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
        "leakage": shared_test_images(world, task_images),
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
        "leakage": [gxe.ExpectColumnValuesToBeInSet(column="shared_with", value_set=[""])],
        "leaves": [
            gxe.ExpectColumnValuesToBeBetween(column="probe_count", min_value=probes_per_leaf)
        ],
        "classes": [
            gxe.ExpectColumnValuesToBeBetween(column="n_nodes", min_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="nodes_exist", value_set=[True]),
        ],
    }


def label_expectations(names: list[str], node_ids: list[str]) -> dict[str, list]:
    """The expectations on the label table of each model in `names`: one label version, one
    value per node and metric, on the graph's nodes, rates (all but score@ and informedness)
    within 0 and 1, informedness within -1 and 1."""
    import great_expectations.expectations as gxe

    def suite() -> list:  # a suite owns its expectation objects
        return [
            gxe.ExpectColumnValuesToNotBeNull(column="value"),
            gxe.ExpectColumnValuesToBeInSet(column="node_id", value_set=node_ids),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["node_id", "metric"]),
            gxe.ExpectColumnUniqueValueCountToBeBetween(
                column="label_version", min_value=1, max_value=1
            ),
            gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0.0, max_value=1.0),
            gxe.ExpectColumnValuesToBeBetween(column="signed", min_value=-1.0, max_value=1.0),
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
        ]

    return {name: suite() for name in names}


def label_frames(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Each model's label rows, with `rate`: the value of a rate metric, else null, and
    `signed`: the value of an informedness metric, else null."""
    signed = pl.col("metric").str.starts_with("informedness")
    rate = pl.col("metric").str.starts_with("score@").not_() & signed.not_()
    return {
        name: table.select("node_id", "metric", "value", "label_version").with_columns(
            rate=pl.when(rate).then(pl.col("value")).otherwise(None),
            signed=pl.when(signed).then(pl.col("value")).otherwise(None),
        )
        for name, table in tables.items()
    }


@task(name="validate-labels")
def validate_labels(tables: dict[str, pl.DataFrame], node_ids: list[str]) -> dict[str, SuiteResult]:
    """The outcome of each model's label suite (its `failed` list is empty when it passed)."""
    if not tables:
        return {}
    results = run_suites(
        label_frames(tables), label_expectations(sorted(tables), node_ids), "labels"
    )
    return {result.suite: result for result in results}


def run_suites(
    frames: dict[str, pl.DataFrame], expectations: dict[str, list], prefix: str = "world"
) -> list[SuiteResult]:
    """Validate every frame against its suite with an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name=prefix)
    results = []
    for name, frame in frames.items():
        batch_definition = source.add_dataframe_asset(
            name=name
        ).add_batch_definition_whole_dataframe("all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{prefix}_{name}"))
        for expectation in expectations[name]:
            suite.add_expectation(expectation)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{prefix}_{name}", data=batch_definition, suite=suite)
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
