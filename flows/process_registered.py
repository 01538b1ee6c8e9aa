"""Flow: process models registered in the registry, by name, and publish what it made.

Each VLM and classifier is labeled on the concept graph, gets its RKME specification (of its
training slice, or of the sample its card names) and its scores on the transferability
benchmark's tasks; each generator gets its identification specification. A model goes
registered -> labeling -> ready, or failed with the reason when it does not load or label or
its label breaks its Great Expectations suite; a failing model does not stop the others. A
ready model stays ready (and in selections) while it is processed again; a retired one is
left alone. Everything is published through the registry's one publish path, as one hub
version for the batch (with `extra`, what the caller adds to it).
"""

from dataclasses import asdict
from pathlib import Path

import mlflow
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.hub import Hub
from hubscout.params import IdentificationParams, TransferabilityParams, read_section
from hubscout.plots import heatmap
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.transferability.suite import parse_metrics
from hubscout.tuning import EncoderChoice
from registry.errors import UnknownModelError
from registry.publication import ModelRows, Publication, label_publications
from registry.store import RegistryStore
from tasks.registered import (
    GeneratorReference,
    RegisteredJob,
    RegisteredResult,
    RkmeReference,
    per_model_metrics,
    process_registered,
)
from tasks.registry import publish
from tasks.tracking import mlflow_run, provenance_tags, sync_model_registry
from tasks.validation import SuiteResult, validate_labels

LABEL_PLOT = "label_heatmap.png"
WAITING_FOR_REFERENCE = (
    "waits for a reference encoder to embed its spec: publish the starter hub "
    "(python -m flows.publish_hub)"
)


@flow(name="process-registered", log_prints=True)
def process_registered_flow(names: list[str]) -> dict:
    """Label, specify and score the registered models called `names`; publish."""
    return process_models(names, Settings())


def process_models(
    names: list[str],
    settings: Settings,
    params_file: Path = Path("params.yaml"),
    extra: Publication | None = None,
) -> dict:
    """The flow's body, for flows that add to its publication (`extra`: the nightly's
    benchmarks): process `names`, publish everything as one hub version, track in MLflow."""
    identification = read_section(params_file, "identification", IdentificationParams)
    transferability = read_section(params_file, "transferability", TransferabilityParams)
    metrics = per_model_metrics(parse_metrics(transferability.metrics))
    store = RegistryStore(settings.registry_database_url)
    try:
        hub = store.hub()
        unknown = sorted(set(names) - set(hub.models))
        if unknown:
            raise UnknownModelError(f"not registered: {', '.join(unknown)}")
        generator_reference = _generator_reference(hub)
        rkme_reference = _rkme_reference(hub)
        live = sorted(n for n in set(names) if hub.models[n].status != "retired")
        # a generator's spec is embedded by the reference encoder: without one it waits
        waiting = [
            n for n in live if hub.models[n].kind == "generator" and generator_reference is None
        ]
        live = [name for name in live if name not in waiting]
        for name in waiting:  # claimed by a registration run: it waits again, saying for what
            if hub.models[name].status == "labeling":
                store.set_status(name, "registered", WAITING_FOR_REFERENCE)
        for name in live:  # a ready model stays in selections while it is processed
            if hub.models[name].status not in ("ready", "labeling"):  # labeling: claimed
                store.set_status(name, "labeling")
        jobs = [
            RegisteredJob(
                name, model.source, model.kind, model.content_hash, settings,
                generator_reference, rkme_reference, identification, metrics,
                transferability.seed,
            )
            for name, model in ((name, hub.models[name]) for name in live)
        ]  # fmt: skip
        results = {result.name: result for result in process_registered(jobs)}
        tables = {n: r.label for n, r in results.items() if r.label is not None}
        node_ids = World(settings.layout.world).nodes["node_id"].to_list()
        checks = validate_labels(tables, node_ids)
        failed = {n: r.failure for n, r in results.items() if r.failure is not None}
        for name, check in checks.items():  # a label that breaks its suite is not published
            if check.failed:
                failed[name] = "label validation failed: " + "; ".join(check.failed)
        for name, reason in failed.items():
            store.set_status(name, "failed", reason[:2000])
        for name in results:  # a pipeline publishes nothing: loading it was its check
            if hub.models[name].kind == "pipeline" and name not in failed:
                store.set_status(name, "ready")
    finally:
        store.close()
    kept = [result for name, result in sorted(results.items()) if name not in failed]
    labels = [result.label for result in kept if result.label is not None]
    base = extra or Publication("")
    publication = Publication(
        "; ".join(filter(None, [f"models {', '.join(live)}" if live else "", base.reason])),
        labels=base.labels + (label_publications(pl.concat(labels)) if labels else ()),
        specs=base.specs + tuple(result.spec for result in kept if result.spec is not None),
        benchmarks=base.benchmarks,
        tuned=base.tuned,
        model_rows=base.model_rows
        + tuple(ModelRows(r.name, "transferability", r.rows) for r in kept if r.rows),
    )
    hub_version = publish(publication, settings)
    summary = {
        "processed": [result.name for result in kept],
        "failed": failed,
        "hub_version": hub_version,
        "notes": {result.name: list(result.notes) for result in kept if result.notes}
        | {name: [WAITING_FOR_REFERENCE] for name in waiting},
    }
    track_processing(results, failed, checks, hub_version, settings)
    print(summary)
    return summary


def _encoder_choice(hub: Hub) -> EncoderChoice | None:
    tuned = hub.tuned.get("encoders")
    return tuned if isinstance(tuned, EncoderChoice) else None


def _hub_encoder(hub: Hub, published: str | None, chosen: str | None) -> str | None:
    """The VLM that embedded the hub's published specifications of one kind; before any is
    published, the live VLM that the hub's published encoder choice names; else None."""
    if published is not None:
        return published if published in hub.models else None
    model = hub.models.get(chosen) if chosen else None
    live_vlm = model is not None and model.status != "retired" and model.kind == "vlm"
    return chosen if live_vlm else None


def _generator_reference(hub: Hub) -> GeneratorReference | None:
    """The hub's encoder of generator specifications and their descriptors' style weight."""
    choice = _encoder_choice(hub)
    name = _hub_encoder(hub, hub.reference_encoder, choice and choice.reference_encoder)
    if name is None:
        return None
    weights = sorted({spec.style_weight for spec in hub.generator_specs.values()})
    style_weight = weights[0] if weights else (choice.style_weight if choice else 0.0)
    return GeneratorReference(name, hub.models[name].source, style_weight)


def _rkme_reference(hub: Hub) -> RkmeReference | None:
    """The hub's encoder of RKME specifications and the kernel bandwidth they share."""
    choice = _encoder_choice(hub)
    name = _hub_encoder(hub, hub.rkme_encoder, choice and choice.rkme_encoder)
    if name is None:
        return None
    gammas = sorted({spec.gamma for spec in hub.rkme_specs.values()})
    return RkmeReference(name, hub.models[name].source, gammas[0] if gammas else None)


def track_processing(
    results: dict[str, RegisteredResult],
    failed: dict[str, str],
    checks: dict[str, SuiteResult],
    hub_version: int,
    settings: Settings,
) -> None:
    """One MLflow run for the flow run (experiment `lifecycle`; tags: the Prefect flow run,
    the hub version, the git commit, the DVC data hash) with the labels' heatmap, a nested run
    per model (its Great Expectations outcome, label table and mean label values, its
    transferability rows and specification, or the reason it failed), then the models
    mirrored in MLflow's Model Registry."""
    tables = [r.label for n, r in results.items() if r.label is not None and n not in failed]
    run_tags = provenance_tags(hub_version)
    with mlflow_run(settings, "lifecycle", "process-registered", run_tags):
        mlflow.log_metrics({"processed": len(results) - len(failed), "failed": len(failed)})
        leaves = pl.concat(tables).filter(pl.col("metric") == "acc_leaves") if tables else None
        if leaves is not None and leaves.height:
            title = "label: accuracy among leaves"
            mlflow.log_figure(heatmap(leaves, "node_id", "model_id", "value", title), LABEL_PLOT)
        for name, result in sorted(results.items()):
            with mlflow.start_run(run_name=name, nested=True, tags={"hubscout.model": name}):
                if name in checks:
                    mlflow.log_dict(asdict(checks[name]), "label_validation.json")
                if name in failed:
                    mlflow.set_tags(
                        {"hubscout.status": "failed", "hubscout.reason": failed[name][:5000]}
                    )
                    continue
                mlflow.set_tag("hubscout.status", "ready")
                if result.notes:
                    mlflow.set_tag("hubscout.notes", "; ".join(result.notes)[:5000])
                if result.spec is not None:
                    mlflow.set_tags(
                        {"hubscout.spec_kind": result.spec.spec_kind,
                         "hubscout.spec_version": result.spec.version}
                    )  # fmt: skip
                if result.rows:
                    mlflow.log_table(pl.DataFrame(result.rows).to_pandas(), "transferability.json")
                if result.label is None:
                    continue
                mlflow.set_tag("hubscout.label_version", result.label["label_version"][0])
                means = result.label.group_by("metric").agg(pl.col("value").mean()).sort("metric")
                mlflow.log_metrics(  # MLflow refuses "@" in names: score@blue -> score:blue
                    {f"mean_{m.replace('@', ':')}": value for m, value in means.iter_rows()}
                )
                mlflow.log_table(result.label.to_pandas(), artifact_file="label.json")
    store = RegistryStore(settings.registry_database_url)
    try:
        sync_model_registry(store.hub(), settings, names=list(results))
    finally:
        store.close()


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    process_registered_flow(sys.argv[1:])
