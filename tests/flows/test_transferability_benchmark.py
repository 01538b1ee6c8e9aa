import json

import mlflow
import polars as pl

from flows.transferability_benchmark import transferability_benchmark_flow
from hubscout.transferability.suite import METRICS


def test_transferability_benchmark_flow_writes_tables_report_and_mlflow_run(
    hub_summary, flow_settings, flow_data_dir
):
    report = flow_data_dir / "transferability.json"
    result = transferability_benchmark_flow(flow_data_dir / "params.yaml", report)
    assert json.loads(report.read_text()) == result
    assert result["ground_truth"] == ["linear_probe", "fine_tune"] and result["tasks"] == 17
    assert result["fine_tune_tasks"] == ["consonants", "swatches"]
    assert set(result["mean_tau_w_fine_tune"]) == set(METRICS) | {"generalist", "random"}
    assert set(result["mean_tau_w"]) == set(METRICS) | {"generalist", "random"}
    out = flow_settings.data_dir / "transferability"
    evaluation = pl.read_parquet(out / "evaluation.parquet")
    per_truth = dict(evaluation.group_by("ground_truth").agg(pl.len()).iter_rows())
    assert per_truth == {
        "linear_probe": 17 * (len(METRICS) + 2),
        "fine_tune": 2 * (len(METRICS) + 2),
    }
    fine_tuned = pl.read_parquet(out / "fine_tune.parquet")
    assert fine_tuned.height == 2 * result["models"]
    assert fine_tuned["accuracy"].is_between(0, 1).all()
    truth = pl.read_parquet(out / "linear_probe.parquet")
    assert truth.height == 17 * result["models"]

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["transferability"], output_format="list")[0]
    assert run.data.metrics["tau_w.logme"] == result["mean_tau_w"]["logme"]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"tau_w_per_metric_per_task.png", "evaluation.json", "fine_tune.json"} <= logged
