"""Flow: publish the starter hub's pipeline outputs to the registry as one hub version.

After `dvc repro` has labeled the starter hub, built the identification specifications and run
the three benchmarks, this registers every starter model (VLMs, classifiers and generators)
through the same path as any registration and publishes, in one transaction, their current
labels, the generator and RKME specifications, the benchmark summaries and what the stages
tuned (hubscout.tuning). Publishing what
the registry already holds changes nothing (the hub version stays). Every hub model is then
mirrored in MLflow's Model Registry.
"""

import json
from pathlib import Path

import polars as pl
from prefect import flow

from hubscout.errors import ConfigError
from hubscout.identification.store import load_generator_specs, load_rkme_specs
from hubscout.labeling.store import read_labels
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.tuning import EncoderChoice, Tuned, read_tuned
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
    """Each benchmark's report, with the rows a model's page shows: the linear-probe accuracy
    of every model on every task."""
    documents = {}
    for name in REPORTS:
        report = reports / f"{name}.json"
        if report.is_file():
            documents[name] = {"summary": json.loads(report.read_text()), "rows": []}
    linear_probe = settings.layout.transferability / "linear_probe.parquet"
    if "transferability" in documents and linear_probe.is_file():
        rows = pl.read_parquet(linear_probe).sort("model", "task")
        documents["transferability"]["rows"] = rows.to_dicts()
    return documents


def stage_tuning(settings: Settings) -> tuple[Tuned, ...]:
    """What the identification and selection stages tuned, as they wrote it (none of a stage
    that has not run)."""
    return (
        *read_tuned(settings.layout.identification / "tuned.json"),
        *read_tuned(settings.layout.benchmarks / "tuned.json"),
    )


def starter_specs(
    settings: Settings, models: set[str], tuned: tuple[Tuned, ...]
) -> tuple[SpecPublication, ...]:
    """The identification stage's generator and RKME specifications of the starter models
    among `models`, each kind embedded by the encoder the stage chose for it (`tuned`)."""
    choice = next((t for t in tuned if isinstance(t, EncoderChoice)), None)
    if choice is None:
        raise ConfigError(
            "the identification stage chose no encoders (data/identification/tuned.json): "
            "run `dvc repro identification` first"
        )
    specs = [
        generator_publication(spec, choice.reference_encoder)
        for name, spec in load_generator_specs(settings).items()
        if name in models
    ]
    specs += [
        rkme_publication(name, spec, choice.rkme_encoder)
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
    tuned = stage_tuning(settings)
    hub_version = publish(
        Publication(
            "the starter hub's labels, specifications, benchmarks and tuned parameters",
            labels=label_publications(labels),
            specs=starter_specs(settings, set(sources), tuned),
            benchmarks=benchmark_documents(settings, reports),
            tuned=tuned,
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
