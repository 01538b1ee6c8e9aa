"""Flow: publish the starter hub's pipeline outputs to the registry as one hub version.

After `dvc repro` has labeled the starter hub, built the identification specifications and run
the three benchmarks, this registers every starter model (VLMs, classifiers and generators)
through the same path as any registration and publishes, in one transaction, their current
labels, the generator and RKME specifications and the benchmark summaries. Publishing what
the registry already holds changes nothing (the hub version stays). Every hub model is then
mirrored in MLflow's Model Registry.
"""

import json
from pathlib import Path

import polars as pl
from prefect import flow

from hubscout.identification.store import (
    load_generator_specs,
    load_rkme_specs,
    reference_source,
    rkme_encoder_source,
)
from hubscout.labeling.store import read_labels
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings, apply_offline_defaults
from registry.publication import (
    Publication,
    SpecPublication,
    generator_publication,
    label_publications,
    rkme_publication,
)
from registry.store import RegistryStore
from tasks.registry import publish, register_sources
from tasks.tracking import sync_model_registry

REPORTS = ("selection", "transferability", "identification")


def benchmark_documents(settings: Settings, reports: Path) -> dict[str, dict]:
    """Each benchmark's report, with the rows a model's page shows: the selection benchmark's
    accuracy predictor and the linear-probe accuracy of every model on every task."""
    documents = {}
    for name in REPORTS:
        report = reports / f"{name}.json"
        if report.is_file():
            documents[name] = {"summary": json.loads(report.read_text()), "rows": []}
    accuracy_model = settings.layout.benchmarks / "accuracy_model.json"
    if "selection" in documents and accuracy_model.is_file():
        documents["selection"]["accuracy_model"] = json.loads(accuracy_model.read_text())
    linear_probe = settings.layout.transferability / "linear_probe.parquet"
    if "transferability" in documents and linear_probe.is_file():
        rows = pl.read_parquet(linear_probe).sort("model", "task")
        documents["transferability"]["rows"] = rows.to_dicts()
    return documents


def starter_specs(settings: Settings, models: set[str]) -> tuple[SpecPublication, ...]:
    """The identification stage's generator and RKME specifications of the starter models
    among `models`, each kind embedded by the encoder the stage chose for it (a starter
    model)."""
    entries = read_manifest(settings.layout.hub_manifest).models
    names = {f"starter:{e.name}": e.name for e in entries}
    encoder, rkme_encoder = names[reference_source(settings)], names[rkme_encoder_source(settings)]
    specs = [
        generator_publication(spec, encoder)
        for name, spec in load_generator_specs(settings).items()
        if name in models
    ]
    specs += [
        rkme_publication(name, spec, rkme_encoder)
        for name, spec in load_rkme_specs(settings).items()
        if name in models
    ]
    return tuple(specs)


@flow(name="publish-hub", log_prints=True)
def publish_hub_flow(reports: Path = Path("reports")) -> dict:
    """Register the starter hub's models and publish everything the pipeline produced."""
    settings = Settings()
    entries = read_manifest(settings.layout.hub_manifest).models
    sources = {e.name: f"starter:{e.name}" for e in entries}
    changed = register_sources(sources, settings)
    labels = read_labels(settings).filter(pl.col("model_id").is_in(list(sources)))
    hub_version = publish(
        Publication(
            "the starter hub's labels, specifications and benchmarks",
            labels=label_publications(labels),
            specs=starter_specs(settings, set(sources)),
            benchmarks=benchmark_documents(settings, reports),
        ),
        settings,
    )
    store = RegistryStore(settings.registry_database_url)
    try:
        sync_model_registry(store.hub(), settings)  # the hub, as MLflow's UI shows it
    finally:
        store.close()
    summary = {"registered_now": changed, "models": len(entries), "hub_version": hub_version}
    print(summary)
    return summary


if __name__ == "__main__":
    apply_offline_defaults()
    publish_hub_flow()
