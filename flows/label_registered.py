"""Flow: label models that were registered in the registry, by name, and publish their labels.

Each model goes registered -> labeling -> ready, or failed with the reason when it does not
load or label or its label breaks its Great Expectations suite; a failing model does not stop
the others. A ready model stays ready (and in selections) while it is re-labeled; a retired
one is left alone. Labels are published through the registry's one publish path, which raises
the hub version once for the batch.
"""

from dataclasses import asdict

import mlflow
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.plots import heatmap
from hubscout.settings import Settings, apply_offline_defaults
from registry.publication import Publication, label_publications
from registry.store import RegistryStore, UnknownModelError
from tasks.labeling import label_registered
from tasks.registry import publish
from tasks.tracking import mlflow_run, provenance_tags, sync_model_registry
from tasks.validation import SuiteResult, validate_labels

LABELED_KINDS = ("vlm", "classifier")
LABEL_PLOT = "label_heatmap.png"


@flow(name="label-registered", log_prints=True)
def label_registered_flow(names: list[str]) -> dict:
    """Label the registered VLMs and classifiers called `names`."""
    settings = Settings()
    store = RegistryStore(settings.registry_database_url)
    try:
        models = store.hub().models
        unknown = sorted(set(names) - set(models))
        if unknown:
            raise UnknownModelError(f"not registered: {', '.join(unknown)}")
        sources = {
            n: models[n].source
            for n in names
            if models[n].kind in LABELED_KINDS and models[n].status != "retired"
        }
        for name in sources:  # a ready model stays in selections while it is re-labeled
            if models[name].status != "ready":
                store.set_status(name, "labeling")
        results = label_registered(sources, settings)
        tables = {n: table for n, table in results.items() if isinstance(table, pl.DataFrame)}
        node_ids = World(settings.layout.world).nodes["node_id"].to_list()
        checks = validate_labels(tables, node_ids)
        for name, check in checks.items():  # a label that breaks its suite is not published
            if check.failed:
                results[name] = "label validation failed: " + "; ".join(check.failed)
        failed = {name: result for name, result in results.items() if isinstance(result, str)}
        for name, reason in failed.items():
            store.set_status(name, "failed", reason[:2000])
    finally:
        store.close()
    valid = [table for table in results.values() if isinstance(table, pl.DataFrame)]
    publication = Publication(
        f"labels of {', '.join(sorted(sources))}",
        labels=label_publications(pl.concat(valid)) if valid else (),
    )
    hub_version = publish(publication, settings)
    summary = {"labeled": sorted(set(sources) - set(failed)), "failed": failed}
    summary["hub_version"] = hub_version
    track_labeling(results, checks, hub_version, settings)
    print(summary)
    return summary


def track_labeling(
    results: dict[str, pl.DataFrame | str],
    checks: dict[str, SuiteResult],
    hub_version: int,
    settings: Settings,
) -> None:
    """One MLflow run for the flow run (experiment `lifecycle`; tags: the Prefect flow run,
    the hub version, the git commit, the DVC data hash) with the labels' heatmap, a nested run
    per model (its Great Expectations outcome, its label table and mean label values, or the
    reason it failed), then the labeled models mirrored in MLflow's Model Registry."""
    tables = [table for table in results.values() if isinstance(table, pl.DataFrame)]
    with mlflow_run(settings, "lifecycle", "label-registered", provenance_tags(hub_version)):
        mlflow.log_metrics({"labeled": len(tables), "failed": len(results) - len(tables)})
        leaves = pl.concat(tables).filter(pl.col("metric") == "acc_leaves") if tables else None
        if leaves is not None and leaves.height:
            title = "label: accuracy among leaves"
            mlflow.log_figure(heatmap(leaves, "node_id", "model_id", "value", title), LABEL_PLOT)
        for name, result in sorted(results.items()):
            with mlflow.start_run(run_name=name, nested=True, tags={"hubscout.model": name}):
                if name in checks:
                    mlflow.log_dict(asdict(checks[name]), "label_validation.json")
                if isinstance(result, str):
                    mlflow.set_tags({"hubscout.status": "failed", "hubscout.reason": result[:5000]})
                    continue
                mlflow.set_tags(
                    {
                        "hubscout.status": "ready",
                        "hubscout.label_version": result["label_version"][0],
                    }
                )
                means = result.group_by("metric").agg(pl.col("value").mean()).sort("metric")
                mlflow.log_metrics(  # MLflow refuses "@" in names: score@blue -> score:blue
                    {f"mean_{m.replace('@', ':')}": value for m, value in means.iter_rows()}
                )
                mlflow.log_table(result.to_pandas(), artifact_file="label.json")
    store = RegistryStore(settings.registry_database_url)
    try:
        sync_model_registry(store.hub(), settings, names=list(results))
    finally:
        store.close()


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    label_registered_flow(sys.argv[1:])
