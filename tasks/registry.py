"""Prefect tasks that publish to the registry's database."""

import polars as pl
from prefect import task

from hubscout.settings import Settings
from registry.store import RegistryStore


@task(name="publish-labels")
def publish_labels(labels: pl.DataFrame, kinds: dict[str, str], settings: Settings) -> list[str]:
    """Register each labeled model and publish its label version; the ids newly published."""
    store = RegistryStore(settings.registry_database_url)
    published = []
    try:
        versions = labels.select(
            "model_id", "model_hash", "label_version", "graph_hash", pl.len().over("model_id")
        ).unique("model_id")
        for model_id, model_hash, version, graph_hash, rows in versions.sort(
            "model_id"
        ).iter_rows():
            store.register(model_id, f"starter:{model_id}", kinds[model_id], model_hash)
            if store.publish_label(model_id, version, graph_hash, rows):
                published.append(model_id)
    finally:
        store.close()
    return published
