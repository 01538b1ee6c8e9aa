"""Flow: label models that were registered in the registry, by name, and publish their labels.

Each model goes registered -> labeling -> ready, or failed with the reason when it does not
load or label; a failing model does not stop the others. A ready model stays ready (and in
selections) while it is re-labeled; a retired one is left alone. Labels are published through the
registry's one publish path, which raises the hub version once for the batch.
"""

import polars as pl
from prefect import flow

from hubscout.settings import Settings, apply_offline_defaults
from registry.publication import Publication, label_publications
from registry.store import RegistryStore, UnknownModelError
from tasks.labeling import label_registered
from tasks.registry import publish

LABELED_KINDS = ("vlm", "classifier")


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
        failed = {name: result for name, result in results.items() if isinstance(result, str)}
        for name, reason in failed.items():
            store.set_status(name, "failed", reason[:2000])
    finally:
        store.close()
    tables = [table for table in results.values() if isinstance(table, pl.DataFrame)]
    publication = Publication(
        f"labels of {', '.join(sorted(sources))}",
        labels=label_publications(pl.concat(tables)) if tables else (),
    )
    hub_version = publish(publication, settings)
    summary = {"labeled": sorted(set(sources) - set(failed)), "failed": failed}
    summary["hub_version"] = hub_version
    print(summary)
    return summary


if __name__ == "__main__":
    import sys

    apply_offline_defaults()
    label_registered_flow(sys.argv[1:])
