"""Prefect tasks that write to the registry: registering sources and publishing.

Both go through the same functions as the registry service (`register_source`,
`RegistryStore.publish`), so a starter model enters the hub exactly like any other.
"""

from prefect import task

from hubscout.settings import Settings
from registry.publication import Publication
from registry.sources import register_source
from registry.store import RegistryStore


@task(name="register-sources")
def register_sources(sources: dict[str, str], settings: Settings) -> list[str]:
    """Register each name -> source URI; the names whose registration changed something."""
    store = RegistryStore(settings.registry_database_url)
    try:
        return [
            name
            for name, source in sorted(sources.items())
            if register_source(
                store, name, source, settings.source_roots, settings.layout.hub_manifest
            )
        ]
    finally:
        store.close()


@task(name="publish")
def publish(publication: Publication, settings: Settings) -> int:
    """Publish to the registry in one transaction; the hub version after it."""
    store = RegistryStore(settings.registry_database_url)
    try:
        return store.publish(publication)
    finally:
        store.close()
