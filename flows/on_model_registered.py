"""Flows of a registered model's lifecycle: label it when it is registered; re-label the hub.

`on_model_registered(name)` is started by the worker's deployment trigger when the registry's
`hubscout.model.registered` event reaches Prefect (the name is taken from the event).
`relabel(which)` re-labels every model that is not retired (`all`), the models without a label
on the current concept graph (`stale`: registered, failed, or labeled on another graph), or a
comma-separated list of names. Both label through `label_registered_flow`, so each model goes
labeling -> ready, or failed with its reason, and its labels reach the registry through the one
publish path; a label already computed for the model's content and the graph is read from the
label store, not recomputed. While a flow run labels a model it holds that model's slot (a
Prefect global concurrency limit of 1 named after the model), so no model is labeled by two
runs at once.
"""

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

from flows.label_registered import LABELED_KINDS, label_registered_flow
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.labeling.labels import ConceptProbes
from hubscout.settings import Settings, apply_offline_defaults
from registry.store import RegistryStore, UnknownModelError

SLOT_WAIT_SECONDS = 3600  # the longest a run waits for another run labeling the same model


def model_slot_name(name: str) -> str:
    """The name of the global concurrency limit that guards labeling model `name`."""
    return f"hubscout-label-{name}"


@contextmanager
def model_slots(names: list[str]) -> Iterator[None]:
    """Hold the labeling slot of every model in `names` (each limit created at 1 if new)."""
    slots = [model_slot_name(name) for name in sorted(names)]
    with get_client(sync_client=True) as client:
        for slot in slots:
            # a run for the same model may create it between upsert's read and its create
            with contextlib.suppress(ObjectAlreadyExists):
                client.upsert_global_concurrency_limit_by_name(slot, limit=1)
    with concurrency(slots, occupy=1, timeout_seconds=SLOT_WAIT_SECONDS, strict=True):
        yield


@flow(name="on-model-registered", log_prints=True)
def on_model_registered(name: str) -> dict:
    """Label the model just registered as `name` and publish its labels."""
    with model_slots([name]):
        return label_registered_flow([name])


def models_to_relabel(which: str, settings: Settings) -> list[str]:
    """The labeled-kind models that `which` (all, stale, or names joined by commas) selects."""
    store = RegistryStore(settings.registry_database_url)
    try:
        live = [
            m["model_id"]
            for m in store.models()  # ordered by name
            if m["kind"] in LABELED_KINDS and m["status"] != "retired"
        ]
        if which == "all":
            return live
        if which == "stale":
            if not live:  # nothing to compare: the world need not exist yet
                return []
            graph_hash = ConceptProbes.from_world(World(settings.layout.world)).graph_hash
            return [name for name in live if _label_graph(store, name) != graph_hash]
        names = sorted({name.strip() for name in which.split(",") if name.strip()})
        if not names:
            raise ConfigError("relabel takes all, stale or a comma-separated list of names")
        unknown = [name for name in names if name not in live]
        if unknown:
            raise UnknownModelError(
                f"not a registered VLM or classifier (or retired): {', '.join(unknown)}"
            )
        return names
    finally:
        store.close()


def _label_graph(store: RegistryStore, name: str) -> str | None:
    """The concept-graph hash of the model's current label, or None without a ready label."""
    model = store.model(name)
    if model["status"] != "ready" or not model["label_versions"]:
        return None
    return model["label_versions"][-1]["graph_hash"]


@flow(name="relabel", log_prints=True)
def relabel(which: str = "stale") -> dict:
    """Re-label the models `which` selects (all, stale, or names joined by commas)."""
    names = models_to_relabel(which, Settings())
    if not names:
        print("nothing to re-label")
        return {"labeled": [], "failed": {}, "hub_version": None}
    with model_slots(names):
        return label_registered_flow(names)


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    relabel(sys.argv[1] if len(sys.argv) > 1 else "stale")
