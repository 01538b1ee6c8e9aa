import json

import mlflow
import polars as pl

from flows.label_hub import label_hub_flow
from flows.selection_benchmark import selection_benchmark_flow


def test_selection_benchmark_flow_reports_held_out_metrics(
    hub_summary, flow_settings, flow_data_dir
):
    label_hub_flow()
    report = flow_data_dir / "selection.json"
    held_out = selection_benchmark_flow(flow_data_dir / "params.yaml", report)
    assert json.loads(report.read_text()) == {k: round(v, 4) for k, v in held_out.items()}
    assert 0 <= held_out["rel1_selection"] <= 1 and held_out["rel1_oracle"] == 1.0
    table = pl.read_parquet(flow_settings.data_dir / "benchmarks" / "selection.parquet")
    assert table.height == 17
    coefficients = json.loads(
        (flow_settings.data_dir / "benchmarks" / "accuracy_model.json").read_text()
    )
    assert len(coefficients) == 3

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["selection"], output_format="list")[0]
    assert run.data.metrics["held_out.rel1_selection"] == held_out["rel1_selection"]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"rel1_held_out.png", "selection.json"} <= logged
