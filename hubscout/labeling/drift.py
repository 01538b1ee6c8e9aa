"""Label drift: which concept nodes a model's label moved on between two label versions.

A new label version comes from new weights or a changed concept graph; the nodes on which the
label value of `metric` changed by more than `threshold` are the drift a user should see (a
model that was chosen for "warm colour" may no longer be the one to choose). Nodes that exist
in only one version are new or removed concepts, not drift.
"""

import polars as pl

DRIFT_METRIC = "informedness_siblings"  # the metric selection ranks by (selection/ranking.py)
# Not tuned: a twentieth of the metric's -1 to 1 range; the registry stores every move above it.
DRIFT_THRESHOLD = 0.1
DRIFT_COLUMNS = ("node_id", "previous", "current", "change")


def label_drift(
    previous: pl.DataFrame,
    current: pl.DataFrame,
    metric: str = DRIFT_METRIC,
    threshold: float = DRIFT_THRESHOLD,
) -> pl.DataFrame:
    """(node_id, previous, current, change) of the nodes whose `metric` value moved by more
    than `threshold` from the `previous` to the `current` label table of one model (each with
    node_id, metric, value); the largest moves first, float64."""
    if threshold < 0:
        raise ValueError(f"a drift threshold is at least 0, got {threshold}")

    def values(table: pl.DataFrame, name: str) -> pl.DataFrame:
        rows = table.filter(pl.col("metric") == metric)
        return rows.select("node_id", pl.col("value").cast(pl.Float64).alias(name))

    both = values(previous, "previous").join(values(current, "current"), on="node_id")
    moved = both.with_columns(change=pl.col("current") - pl.col("previous")).filter(
        pl.col("change").abs() > threshold
    )
    return moved.sort(pl.col("change").abs(), "node_id", descending=[True, False]).select(
        DRIFT_COLUMNS
    )
