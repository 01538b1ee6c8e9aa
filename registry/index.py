"""The selection index over the registry: rebuilt when the hub version changes.

A reader asks `current()` and gets the snapshot and index of the newest hub version; a publish
or retire raises the version, so the next request after it rebuilds (one small query per
request decides). The concept graph's texts are embedded once per process.
"""

import contextlib
import threading

import polars as pl

from hubscout.errors import ConfigError, HubscoutError
from hubscout.hub import Hub
from hubscout.selection.answer import SelectionIndex
from hubscout.selection.matching import ConceptMatcher
from hubscout.settings import Settings
from hubscout.text import ConceptTexts, TextEmbedder, text_embedder
from registry.store import RegistryStore


def embedded_concepts(settings: Settings, embedder: TextEmbedder) -> ConceptTexts:
    """The concept graph of the data dir's world, embedded for matching."""
    path = settings.layout.world / "nodes.parquet"
    if not path.is_file():
        raise ConfigError(f"no concept graph at {path}: build the world first (`make demo`)")
    return ConceptTexts.from_nodes(pl.read_parquet(path), embedder)


class HubIndex:
    """The newest hub snapshot and its selection index, each rebuilt on a new hub version."""

    def __init__(self, store: RegistryStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._lock = threading.Lock()
        self._hub: Hub | None = None
        self._selection: SelectionIndex | None = None
        self._matcher: ConceptMatcher | None = None

    def warm(self) -> None:
        """Build the index now (at service start), so the first query does not wait for the
        text embedder; a hub that cannot be indexed yet is left for the first query to
        report."""
        with contextlib.suppress(HubscoutError):
            self.current()

    def hub(self) -> Hub:
        """The snapshot of the current hub version."""
        version = self.store.hub_version()
        hub = self._hub
        if hub is not None and hub.version == version:
            return hub
        with self._lock:
            if self._hub is None or self._hub.version != version:
                self._hub = self.store.hub()
            return self._hub

    def current(self) -> tuple[Hub, SelectionIndex]:
        """The snapshot of the current hub version and its selection index."""
        hub = self.hub()
        selection = self._selection
        if selection is not None and selection.hub_version == hub.version:
            return hub, selection
        with self._lock:
            if self._selection is None or self._selection.hub_version != hub.version:
                if self._matcher is None:  # the concept graph, embedded once per process
                    embedder = text_embedder()
                    concepts = embedded_concepts(self.settings, embedder)
                    self._matcher = ConceptMatcher(concepts, embedder)
                self._selection = SelectionIndex.build(hub, self._matcher)
            return hub, self._selection
