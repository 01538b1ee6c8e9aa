"""Flows of a registered model's lifecycle: process it when it is registered; re-process
the hub.

`on_model_registered(name)` is started by the worker's deployment trigger when the registry's
`hubscout.model.registered` event reaches Prefect (the name is taken from the event); it
takes every model still waiting, so that a burst of registrations is processed by the first
run that starts, and a user's registration behind the burst by the next one.
`relabel(which)` re-processes every model that is not retired (`all`), the stale ones
(`stale`: not ready, or a VLM or classifier labeled on another concept graph), or a
comma-separated list of names. Both go through `process_models` (flows/process_registered.py):
each model is labeled, specified and scored, goes labeling -> ready or failed with its reason,
and what it made reaches the registry through the one publish path; what was computed before
for the same model content and data is read from its cache, not recomputed. While a flow run
processes a model it holds that model's slot (a Prefect global concurrency limit of 1 named
after the model), so no model is processed by two runs at once.
"""

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

from flows.process_registered import process_models
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.labeling.labels import ConceptProbes
from hubscout.settings import Settings, apply_offline_defaults
from registry.errors import UnknownModelError
from registry.publication import Publication
from registry.store import RegistryStore

SLOT_WAIT_SECONDS = 3600  # the longest a run waits for another run labeling the same model
# Models one registration run takes at most: a burst is published in hub versions of this
# many, so that selections grow while a large burst is processed (not tuned).
CLAIM_MODELS = 32


def model_slot_name(name: str) -> str:
    """The name of the global concurrency limit that guards labeling model `name`."""
    return f"hubscout-label-{name}"


@contextmanager
def model_slots(names: list[str]) -> Iterator[None]:
    """Hold the labeling slot of every model in `names` (each limit created at 1 if new)."""
    slots = [model_slot_name(name) for name in sorted(names)]
    if not slots:
        yield
        return
    with get_client(sync_client=True) as client:
        for slot in slots:
            # a run for the same model may create it between upsert's read and its create
            with contextlib.suppress(ObjectAlreadyExists):
                client.upsert_global_concurrency_limit_by_name(slot, limit=1)
    with concurrency(slots, occupy=1, timeout_seconds=SLOT_WAIT_SECONDS, strict=True):
        yield


@flow(name="on-model-registered", log_prints=True)
def on_model_registered(name: str) -> dict:
    """Process the model just registered as `name`, with every other model still waiting
    (at most CLAIM_MODELS, oldest first), and publish what they made. A run whose models
    another run has taken already (a burst of registrations, a catch-up) returns at once
    instead of waiting for their slots behind that run."""
    settings = Settings()
    store = RegistryStore(settings.registry_database_url)
    try:
        claimed = store.claim_registered(CLAIM_MODELS)
        hub_version = store.hub_version()
    finally:
        store.close()
    if not claimed:
        print(f"{name} was taken by another run since its registration: nothing to do")
        return {"processed": [], "failed": {}, "hub_version": hub_version, "notes": {}}
    print(f"{name}'s run takes {len(claimed)} waiting models: {', '.join(claimed)}")
    with model_slots(claimed):
        return process_models(claimed, settings)


def models_to_relabel(which: str, settings: Settings) -> list[str]:
    """The models that `which` (all, stale, or names joined by commas) selects."""
    store = RegistryStore(settings.registry_database_url)
    try:
        live = [
            m["model_id"]
            for m in store.models()  # ordered by name
            if m["status"] != "retired"
        ]
        if which == "all":
            return live
        if which == "stale":
            if not live:  # nothing to compare: the world need not exist yet
                return []
            graph_hash = ConceptProbes.from_world(World(settings.layout.world)).graph_hash
            return [name for name in live if _is_stale(store, name, graph_hash)]
        names = sorted({name.strip() for name in which.split(",") if name.strip()})
        if not names:
            raise ConfigError("relabel takes all, stale or a comma-separated list of names")
        unknown = [name for name in names if name not in live]
        if unknown:
            raise UnknownModelError(f"not registered (or retired): {', '.join(unknown)}")
        return names
    finally:
        store.close()


def _is_stale(store: RegistryStore, name: str, graph_hash: str) -> bool:
    """Not ready, or a VLM or classifier whose current label is on another concept graph."""
    model = store.model(name)
    if model["status"] != "ready":
        return True
    labels = model["label_versions"]
    return model["kind"] != "generator" and (not labels or labels[-1]["graph_hash"] != graph_hash)


@flow(name="relabel", log_prints=True)
def relabel(which: str = "stale") -> dict:
    """Re-process the models `which` selects (all, stale, or names joined by commas)."""
    return relabel_models(which, Settings())


def relabel_models(which: str, settings: Settings, extra: Publication | None = None) -> dict:
    """The relabel flow's body, for flows that add to its one publication (`extra`)."""
    names = models_to_relabel(which, settings)
    if not names and extra is None:
        print("nothing to re-process")
        return {"processed": [], "failed": {}, "hub_version": None, "notes": {}}
    with model_slots(names):
        return process_models(names, settings, extra=extra)


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    relabel(sys.argv[1] if len(sys.argv) > 1 else "stale")
