"""Flow: the nightly refresh of the hub.

1. The three benchmarks are brought up to date by the DVC pipeline that builds the data dir
   (`dvc repro` of their stages: a stage runs only when something it depends on changed, so
   the benchmark flows stay the same for DVC and for the nightly).
2. Every model that is not retired is processed again against the current concept graph
   (labels, specifications, transferability rows; each read from its cache when what
   determines it is unchanged, so a night with nothing new computes nothing).
3. The new label versions, specifications and transferability rows and the benchmark
   summaries are published together, as one hub version (none when nothing changed); each new label
   version records the nodes it moved on against the model's previous label (registry/store.py,
   hubscout/labeling/drift.py). The drift table goes to MLflow beside the run.
"""

import mlflow
from prefect import flow

from flows.on_model_registered import relabel_models
from flows.publish_hub import benchmark_documents, stage_tuning
from hubscout.labeling.drift import DRIFT_METRIC, DRIFT_THRESHOLD
from hubscout.settings import Settings, apply_offline_defaults
from registry.publication import Publication
from registry.store import RegistryStore
from tasks.pipeline import reproduce
from tasks.tracking import mlflow_run, provenance_tags


@flow(name="nightly", log_prints=True)
def nightly() -> dict:
    """Refresh the benchmarks, re-process the hub, publish once, report the drift."""
    settings = Settings()
    project = settings.layout.pipeline
    reproduced = reproduce(project) if project is not None else []
    store = RegistryStore(settings.registry_database_url)
    try:
        before = store.hub_version()
        extra = None
        if project is not None:  # the benchmarks as the pipeline left them
            extra = Publication(
                "the benchmarks",
                benchmarks=benchmark_documents(settings, project / "reports"),
                tuned=stage_tuning(settings),
            )
        summary = relabel_models("all", settings, extra)
        hub_version = summary["hub_version"]
        published = hub_version is not None and hub_version > before
        drift = store.drift(hub_version) if published else None
    finally:
        store.close()
    drifted = {}
    if drift is not None and not drift.is_empty():
        counts = drift.group_by("model_id").len().sort("model_id")
        drifted = dict(counts.iter_rows())
    with mlflow_run(settings, "lifecycle", "nightly", provenance_tags(hub_version)):
        mlflow.log_params({"drift_metric": DRIFT_METRIC, "drift_threshold": DRIFT_THRESHOLD})
        mlflow.log_params({"reproduced_stages": ",".join(reproduced) or "none"})
        mlflow.log_metrics({"processed": len(summary["processed"]), "drifted_models": len(drifted)})
        if drifted:
            mlflow.log_table(drift.to_pandas(), artifact_file="drift.json")
    summary = summary | {"drifted": drifted, "reproduced": reproduced}
    print(summary)
    return summary


if __name__ == "__main__":
    apply_offline_defaults()
    nightly()
