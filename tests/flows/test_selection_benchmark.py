import json

import mlflow
import polars as pl
import pytest

from flows.selection_benchmark import selection_benchmark_flow
from hubscout.selection.benchmark import bootstrap_intervals
from hubscout.tuning import read_tuned


def test_selection_benchmark_flow_reports_held_out_metrics(
    hub_summary, flow_settings, flow_data_dir
):
    report = flow_data_dir / "selection.json"
    selection_benchmark_flow(flow_data_dir / "params.yaml", report)
    written = json.loads(report.read_text())
    table = pl.read_parquet(flow_settings.data_dir / "benchmarks" / "selection.parquet")
    assert table.height == 17 + 2 * 5  # named tasks + 5 drawn per split (tiny params)
    held = table.filter(pl.col("held_out"))
    expected = (held["acc_pick"] / held["acc_best"]).mean()
    assert written["rel1_selection"] == pytest.approx(expected, abs=1e-4)
    assert written["evaluation_tasks"] == {"drawn": 5, "named": 5}
    drawn = held.filter(pl.col("source") == "drawn")
    assert written["by_source"]["drawn"]["acc_best"] == pytest.approx(
        drawn["acc_best"].mean(), abs=1e-4
    )
    assert drawn["acc_experts"].is_null().all()  # expert heads are scored on named tasks
    assert "rel1_oracle" not in written
    tuning = written["tuning"]
    assert tuning["tasks"] == 12 + 5
    assert (
        tuning["named_tasks"]
        == table.filter(~pl.col("held_out") & (pl.col("source") == "named"))["task"].to_list()
    )
    assert tuning["grid_points"] == 24 + 4  # selection grid + the generalist's label metrics
    coverage = written["coverage"]
    assert coverage["thresholds"] == {"match": 0.55, "thing": 0.5}
    assert coverage["tuned"] == {"threshold": 0.55, "thing_threshold": 0.5, "f1": 0.9647}
    assert coverage["evaluation"]["names"] == 151 and 0 < coverage["evaluation"]["recall"] < 1
    # the intervals resample the held-out tasks: the paired difference's interval is the one
    # bootstrap_intervals gives for the per-task differences, and it contains their mean
    differences = (held["rel1_selection"] - held["rel1_generalist"]).to_numpy()
    low, high = bootstrap_intervals({"d": differences})["d"]
    interval = written["intervals_95"]["rel1_selection_minus_generalist"]
    assert interval == [round(low, 4), round(high, 4)]
    assert low <= differences.mean() <= high
    assert set(written["intervals_95"]) == {
        "rel1_selection", "rel1_generalist", "rel1_random", "R5", "tau", "L1",
        "rel1_selection_minus_generalist", "acc_ensemble_minus_best_selected",
        "acc_ensemble_minus_pick",
    }  # fmt: skip
    (accuracy,) = read_tuned(flow_settings.data_dir / "benchmarks" / "tuned.json")
    tuning_count = table.filter(~pl.col("held_out")).height
    assert accuracy.chosen_on == f"{tuning_count} tuning tasks x 2 VLMs"
    assert len(accuracy.coefficients) == 3

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["selection"], output_format="list")[0]
    assert run.data.metrics["held_out.rel1_selection"] == pytest.approx(expected)
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {
        "rel1_held_out.png",
        "selection.json",
        "tuning_grid.json",
        "matching_grid.json",
        "labels.png",
    } <= logged
    assert run.data.metrics["coverage.evaluation.recall"] == coverage["evaluation"]["recall"]
