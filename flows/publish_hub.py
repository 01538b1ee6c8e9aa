"""Flow: publish the starter hub's pipeline outputs to the registry.

After `dvc repro` has run the benchmarks (which left the starter models' labels and
specifications in the label and spec stores), this registers every starter model (VLMs,
classifiers and generators) through the same path as any registration, publishes the
benchmark summaries and what the stages tuned (hubscout.tuning), then processes the models
with the per-model job that processes any registered model: it finds their artefacts in the
stores and publishes them as one hub version, then mirrors them in MLflow's Model Registry.
Publishing what the registry already holds changes nothing (the hub version stays).
`python -m flows.publish_hub identification` publishes that benchmark's report alone (the demo
does so as soon as it has chosen the encoders, before the other benchmarks have run).
"""

import json
from pathlib import Path

import polars as pl
from prefect import flow

from flows.process_registered import process_models
from hubscout.errors import ConfigError
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.tuning import EncoderChoice, Tuned, read_tuned
from registry.publication import Publication
from tasks.registry import publish, register_sources

REPORTS = ("selection", "transferability", "identification")


def benchmark_documents(
    settings: Settings, reports: Path, names: tuple[str, ...] = REPORTS
) -> dict[str, dict]:
    """The report of each benchmark among `names` that has one, with the rows a model's page
    shows: the linear-probe accuracy of every model on every task."""
    unknown = sorted(set(names) - set(REPORTS))
    if unknown:
        raise ConfigError(
            f"no benchmark called {', '.join(unknown)}: name some of {', '.join(REPORTS)}"
        )
    documents = {}
    for name in names:
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


@flow(name="publish-hub", log_prints=True)
def publish_hub_flow(
    reports: Path = Path("reports"),
    params_file: Path = Path("params.yaml"),
    benchmarks: tuple[str, ...] = REPORTS,
) -> dict:
    """Register the starter hub's models, publish the `benchmarks` and what the stages tuned,
    then process every starter model through the per-model job, which finds the labels and
    specifications the stages left in the stores, and publish what it made."""
    settings = Settings()
    entries = read_manifest(settings.layout.hub_manifest).models
    sources = {e.name: f"starter:{e.name}" for e in entries}
    changed = register_sources(sources, settings)
    tuned = stage_tuning(settings)
    if not any(isinstance(t, EncoderChoice) for t in tuned):
        raise ConfigError(
            "the identification stage chose no encoders (data/identification/tuned.json): "
            "run `dvc repro identification` first"
        )
    publish(
        Publication(
            "the starter hub's benchmarks and tuned parameters",
            benchmarks=benchmark_documents(settings, reports, benchmarks),
            tuned=tuned,
        ),
        settings,
    )  # first: the per-model jobs embed their specs with the encoders it names
    processed = process_models(list(sources), settings, params_file)
    summary = {
        "registered_now": changed,
        "models": len(entries),
        "hub_version": processed["hub_version"],
        "failed": processed["failed"],
    }
    print(summary)
    return summary


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    publish_hub_flow(benchmarks=tuple(sys.argv[1:]) or REPORTS)
