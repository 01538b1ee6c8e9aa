import polars as pl
import pytest

from hubscout.labeling.drift import DRIFT_METRIC, label_drift


def _label(values: dict[str, float], metric: str = DRIFT_METRIC) -> pl.DataFrame:
    return pl.DataFrame(
        {"node_id": list(values), "metric": [metric] * len(values), "value": list(values.values())}
    )


def test_only_nodes_that_moved_more_than_the_threshold_are_drift():
    previous = pl.concat(
        [_label({"red": 0.9, "blue": 0.5, "star": 0.2, "gone": 0.7}), _label({"red": 0.0}, "x")]
    )
    current = pl.concat(
        [_label({"red": 0.6, "blue": 0.55, "star": 0.45, "new": 0.9}), _label({"red": 1.0}, "x")]
    )
    drift = label_drift(previous, current, threshold=0.1)
    assert drift["node_id"].to_list() == ["red", "star"]  # largest move first
    assert drift["change"].to_list() == pytest.approx([-0.3, 0.25])
    assert drift.row(0) == ("red", 0.9, 0.6, pytest.approx(-0.3))
    assert label_drift(previous, current, metric="x", threshold=0.5)["change"].to_list() == [1.0]
    assert label_drift(previous, previous).is_empty()
    with pytest.raises(ValueError, match="at least 0"):
        label_drift(previous, current, threshold=-1)
