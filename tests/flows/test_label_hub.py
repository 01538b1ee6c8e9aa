import mlflow
import polars as pl

from flows.label_hub import label_hub_flow
from hubscout.labeling.store import read_labels
from registry.store import RegistryStore


def test_label_flow_labels_each_model_once(hub_summary, flow_settings):
    first = label_hub_flow()
    assert first["labeled"] == 4
    assert sorted(first["computed_now"]) == [
        "clf-colours",
        "clf-patterns",
        "vlm-colours",
        "vlm-dark",
    ]
    labels = read_labels(flow_settings)
    assert set(labels["model_id"]) == set(first["computed_now"])
    assert labels.filter(pl.col("metric") == "acc_siblings")["value"].is_between(0, 1).all()
    # a DVC stage writes its outputs only: the models enter the registry when registered
    assert RegistryStore(flow_settings.registry_database_url).models() == []

    second = label_hub_flow()
    assert second["computed_now"] == []  # nothing new

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(
        experiment_names=["labels"], output_format="list", order_by=["start_time ASC"]
    )[0]
    assert run.data.metrics["computed_now"] == 4
    assert "label_heatmap.png" in {
        a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)
    }
