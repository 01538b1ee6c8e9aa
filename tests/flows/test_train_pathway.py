import json

import mlflow
import numpy as np

from flows.train_pathway import pathway_benchmark_flow, train_pathway_flow
from hubscout.data.store import World
from tests.conftest import load_hub_model

METHODS = ["best_single", "uniform_ensemble", "selection_ensemble", "logme_top1", "pathway_k1"]


def test_a_pathway_is_trained_compared_saved_and_logged(hub_summary, flow_settings, flow_data_dir):
    result = train_pathway_flow("swatches", k=1, params_file=flow_data_dir / "params.yaml")
    rows = {row["method"]: row for row in result["table"]}
    assert list(rows) == METHODS
    hub_models = 4  # the tiny hub's VLMs and classifiers
    assert [rows[m]["models_per_input"] for m in ("uniform_ensemble", "pathway_k1")] == [
        hub_models,
        1,
    ]
    assert sum(result["usage"].values()) == 1.0  # k = 1: each input runs one model
    pipeline = load_hub_model(f"pipeline:{result['pipeline']}")
    test = World(flow_settings.layout.world).split("swatches", "test")
    probabilities = pipeline.predict_proba(test.images)
    accuracy = float(np.mean(probabilities.argmax(1) == test.labels))
    assert accuracy == rows["pathway_k1"]["accuracy"]  # the saved pipeline is what was scored
    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    runs = mlflow.search_runs(
        experiment_names=["pathway"], filter_string="run_name = 'swatches-k1'"
    )
    assert runs.loc[0, "metrics.cost.uniform_ensemble"] == hub_models
    assert runs.loc[0, "metrics.accuracy.pathway_k1"] == accuracy


def test_the_benchmark_reports_every_task_and_method(hub_summary, flow_settings, flow_data_dir):
    report = flow_data_dir / "pathway.json"
    result = pathway_benchmark_flow(flow_data_dir / "params.yaml", report)
    assert json.loads(report.read_text()) == result
    assert result["tasks"] == 2 and sorted(result["per_task"]) == ["digits", "swatches"]
    methods = [m.replace("k1", "k2") for m in METHODS]
    assert list(result["mean"]) == methods
    assert result["mean"]["pathway_k2"]["models_per_input"] == 2.0
    means = np.mean([result["per_task"][t]["best_single"] for t in ("digits", "swatches")])
    assert result["mean"]["best_single"]["accuracy"] == round(means, 4)
    assert (flow_settings.layout.pipelines / "digits-pathway-k2" / "pipeline.json").is_file()
