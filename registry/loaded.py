"""The models the registry service keeps loaded between queries (/rank, /identify): the
least recently used go first past a fixed number, so that queries reuse models instead of
loading every candidate again, in bounded memory. A model is checked against its
registration (resolved path under the roots, content hash) each time it is loaded."""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from hubscout.hub import HubEntry
from hubscout.models import load_model
from hubscout.models.base import HubModel
from registry.sources import verify_source


class LoadedModels:
    """An LRU of at most `capacity` loaded models, keyed by source and content hash."""

    def __init__(self, capacity: int, roots: Sequence[Path], manifest: Path) -> None:
        self.capacity, self.roots, self.manifest = capacity, list(roots), manifest
        self._models: OrderedDict[tuple[str, str], HubModel] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, model: HubEntry) -> HubModel:
        """The loaded model of a registered one, from memory when it is there."""
        key = (model.source, model.content_hash)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        verify_source(model.source, model.content_hash, self.roots, self.manifest)
        loaded = load_model(model.source, manifest=self.manifest)
        with self._lock:
            self._models[key] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return loaded

    def __len__(self) -> int:
        return len(self._models)
