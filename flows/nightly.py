"""Flow: the nightly re-labeling of the whole hub.

Every VLM and classifier that is not retired is labeled against the current concept graph
(a label already computed for the model's weights and that graph is reused, so a night with
nothing new computes nothing and publishes nothing); the new label versions are published
together, as one hub version, and each records the nodes it moved on against the model's
previous label (registry/store.py, hubscout/labeling/drift.py). The drift table goes to
MLflow beside the labeling run.
"""

import mlflow
from prefect import flow

from flows.on_model_registered import relabel
from hubscout.labeling.drift import DRIFT_METRIC, DRIFT_THRESHOLD
from hubscout.settings import Settings, apply_offline_defaults
from registry.store import RegistryStore
from tasks.tracking import mlflow_run, provenance_tags


@flow(name="nightly", log_prints=True)
def nightly() -> dict:
    """Re-label the hub and list the models whose labels drifted, with the nodes that moved."""
    settings = Settings()
    store = RegistryStore(settings.registry_database_url)
    try:
        before = store.hub_version()
        summary = relabel("all")
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
        mlflow.log_metrics({"labeled": len(summary["labeled"]), "drifted_models": len(drifted)})
        if drifted:
            mlflow.log_table(drift.to_pandas(), artifact_file="drift.json")
    summary = summary | {"drifted": drifted}
    print(summary)
    return summary


if __name__ == "__main__":
    apply_offline_defaults()
    nightly()
