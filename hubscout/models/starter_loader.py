"""`starter:<name>`: a model of the starter hub, resolved through the hub manifest.

The manifest (`DataLayout.hub_manifest`, written by the `starter_hub` DVC stage) maps
each name to an ordinary source URI; this loader only resolves the name and delegates. The
caller passes the manifest's path: no loader reads settings of its own.
"""

import json
from pathlib import Path

import torch
from pydantic import BaseModel, ValidationError

from hubscout.errors import ConfigError, SourceError
from hubscout.models.base import HubModel


class ManifestEntry(BaseModel):
    """One model of the starter hub; `checkpoint` is relative to the manifest's folder."""

    name: str
    kind: str
    scheme: str
    architecture: str
    checkpoint: str


class HubManifest(BaseModel):
    """The models a starter hub holds so far, and the names its profile plans (the stage
    rewrites the manifest as each model is trained, so that each can be registered then)."""

    models: list[ManifestEntry]
    planned: list[str]

    @property
    def complete(self) -> bool:
        """Whether every planned model is trained."""
        return {entry.name for entry in self.models} >= set(self.planned)


def read_manifest(path: Path) -> HubManifest:
    """Read and validate a hub manifest."""
    if not path.is_file():
        raise SourceError(
            f"the starter hub is not built ({path} is missing): run `make demo` or `dvc repro`"
        )
    try:
        return HubManifest.model_validate(json.loads(path.read_text()))
    except (ValidationError, json.JSONDecodeError) as error:
        raise ConfigError(f"hub manifest {path} is invalid ({error}): rebuild the hub") from error


def resolve(name: str, path: Path) -> str:
    """The source URI of the starter model `name`."""
    manifest = read_manifest(path)
    for entry in manifest.models:
        if entry.name == name:
            checkpoint = path.parent / entry.checkpoint
            return f"{entry.scheme}:{entry.architecture}@{checkpoint}"
    known = ", ".join(entry.name for entry in manifest.models)
    raise SourceError(f"the starter hub has no model {name!r}; it has: {known}")


def load(rest: str, device: torch.device, hub_manifest: Path | None) -> HubModel:
    """Load a starter model by name, resolved through the hub manifest at `hub_manifest`."""
    from hubscout.models.sources import load_model

    if hub_manifest is None:
        raise ConfigError(
            f"starter:{rest} resolves through the starter hub's manifest: pass manifest= "
            "(the data layout's hub_manifest) to load_model"
        )
    model = load_model(resolve(rest, hub_manifest), device)
    model.source = f"starter:{rest}"
    return model
