import json

import mlflow
import numpy as np
import polars as pl
import pytest
from scipy.stats import weightedtau

from flows.transferability_benchmark import transferability_benchmark_flow
from hubscout.transferability.suite import METRICS


def test_transferability_benchmark_flow_writes_tables_report_and_mlflow_run(
    hub_summary, flow_settings, flow_data_dir
):
    report = flow_data_dir / "transferability.json"
    result = transferability_benchmark_flow(flow_data_dir / "params.yaml", report)
    written = json.loads(report.read_text())
    assert result["ground_truth"] == ["linear_probe", "fine_tune"] and result["tasks"] == 17
    assert result["fine_tune_tasks"] == ["consonants", "swatches"]
    assert set(result["mean_tau_w_fine_tune"]) == set(METRICS) | {"generalist", "random"}
    assert set(result["mean_tau_w"]) == set(METRICS) | {"generalist", "random"}
    out = flow_settings.data_dir / "transferability"
    evaluation = pl.read_parquet(out / "evaluation.parquet")
    per_truth = dict(evaluation.group_by("ground_truth").agg(pl.len()).iter_rows())
    assert per_truth == {  # every metric, generalist and random; all and unflagged scores
        "linear_probe": 2 * 17 * (len(METRICS) + 2),
        "fine_tune": 2 * 2 * (len(METRICS) + 2),
    }
    # the report's means are the tasks' tau_w, each recomputed here from the written tables
    scores = pl.read_parquet(out / "scores.parquet")
    probe = pl.read_parquet(out / "linear_probe.parquet")
    for metric in ("logme", "knn"):
        taus = []
        for task in probe["task"].unique().sort():
            joined = scores.filter((pl.col("task") == task) & (pl.col("metric") == metric)).join(
                probe.filter(pl.col("task") == task), on=["task", "model"]
            )
            if joined["accuracy"].n_unique() > 1 and joined["score"].n_unique() > 1:
                taus.append(weightedtau(joined["score"], joined["accuracy"]).statistic)
        assert written["mean_tau_w"][metric] == pytest.approx(np.mean(taus), abs=1e-4)
    flagged = scores.filter(pl.col("saturated"))
    assert written["saturated_scores"] == flagged.height
    assert set(flagged["metric"]) <= {"h_score", "sfda", "etran", "ncti"}
    reasons = {row["skipped"] for row in written["skipped"]}
    assert reasons <= {
        "the metric gives every model the same score",
        "0 model(s) scored: a ranking needs at least 2",
        "1 model(s) scored: a ranking needs at least 2",
    }
    fine_tuned = pl.read_parquet(out / "fine_tune.parquet")
    assert fine_tuned.height == 2 * result["models"]
    assert fine_tuned["accuracy"].is_between(0, 1).all()
    truth = pl.read_parquet(out / "linear_probe.parquet")
    assert truth.height == 17 * result["models"]

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["transferability"], output_format="list")[0]
    assert run.data.metrics["tau_w.logme"] == written["mean_tau_w"]["logme"]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"tau_w_per_metric_per_task.png", "evaluation.json", "fine_tune.json"} <= logged
