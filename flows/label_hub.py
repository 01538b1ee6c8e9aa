"""Flow: label every VLM and classifier of the starter hub (only those whose label is missing
or stale are computed) into the label store, and log them to MLflow.

Run by the DVC stage `labels` (`python -m flows.label_hub`). Like every stage it writes only
its outputs: the starter models enter the registry as any model does, when they are
registered (over HTTP in the demo, or by flows/publish_hub.py), and the worker's flows then
publish these labels from the store.
"""

import mlflow
import polars as pl
from prefect import flow

from hubscout.labeling.store import read_labels
from hubscout.models.starter_loader import read_manifest
from hubscout.plots import heatmap
from hubscout.settings import Settings, apply_offline_defaults
from tasks.labeling import label_models
from tasks.tracking import mlflow_run


@flow(name="label-hub", log_prints=True)
def label_hub_flow(model_names: list[str] | None = None) -> dict:
    """Label the named starter models (default: every VLM and classifier)."""
    settings = Settings()
    entries = read_manifest(settings.layout.hub_manifest).models
    names = model_names or [e.name for e in entries if e.kind in ("vlm", "classifier")]
    results = label_models([f"starter:{name}" for name in names], settings.layout.world, settings)
    labels = read_labels(settings).filter(pl.col("model_id").is_in(names))
    leaf_scores = labels.filter(pl.col("metric") == "acc_leaves")
    summary = {
        "labeled": len(results),
        "computed_now": [model for model, computed, _ in results if computed],
        "label_rows": sum(rows for _, _, rows in results),
    }
    with mlflow_run(settings, "labels", "label-hub"):
        mlflow.log_metrics(
            {"labeled": summary["labeled"], "computed_now": len(summary["computed_now"])}
        )
        for model, value in (
            leaf_scores.group_by("model_id").agg(pl.col("value").mean()).iter_rows()
        ):
            mlflow.log_metric(f"{model}.mean_acc_leaves", value)
        figure = heatmap(
            leaf_scores, "node_id", "model_id", "value", "label: accuracy among leaves"
        )
        mlflow.log_figure(figure, "label_heatmap.png")
    print(summary)
    return summary


if __name__ == "__main__":
    apply_offline_defaults()
    label_hub_flow()
