"""The registry of source-URI schemes: `<scheme>:<rest>` -> a loaded model.

| scheme      | forms                                                         |
|-------------|---------------------------------------------------------------|
| `open_clip` | `open_clip:<arch>/<pretrained tag>`, `open_clip:<arch>@<file>` |
| `timm`      | `timm:<name>@<weights file>`                                  |
| `cvae`      | `cvae:<config>@<file.safetensors>` (conditional VAEs)         |
| `flow`      | `flow:<config>@<file.safetensors>` (conditional flows)        |
| `pipeline`  | `pipeline:<folder>` (a saved reuse pipeline of hub models)    |
| `starter`   | `starter:<name>` (a model of the starter hub's manifest)      |

Loader modules are imported on first use so that the CLI starts fast. A `starter:` name
resolves through the hub manifest the caller passes, and so does each `starter:` member of a
pipeline.
"""

import importlib
from pathlib import Path

import torch

from hubscout.errors import UnknownSchemeError
from hubscout.models.base import HubModel

SCHEME_LOADERS: dict[str, str] = {
    "open_clip": "hubscout.models.open_clip_loader",
    "timm": "hubscout.models.timm_loader",
    "cvae": "hubscout.models.cvae",
    "flow": "hubscout.models.flow_matching",
    "pipeline": "hubscout.reuse.pipeline",
    "starter": "hubscout.models.starter_loader",
}


def parse_source(uri: str) -> tuple[str, str]:
    """Split a source URI into (scheme, rest); raise UnknownSchemeError if it has no loader."""
    scheme, separator, rest = uri.partition(":")
    if not separator or not rest:
        raise UnknownSchemeError(
            f"source {uri!r} is not a URI: write <scheme>:<model>, with a scheme among "
            f"{', '.join(SCHEME_LOADERS)}"
        )
    if scheme not in SCHEME_LOADERS:
        raise UnknownSchemeError(
            f"unknown source scheme {scheme!r} in {uri!r}: use one of {', '.join(SCHEME_LOADERS)}"
        )
    return scheme, rest


MANIFEST_SCHEMES = ("starter", "pipeline")  # the schemes whose loaders resolve starter names


def load_model(
    uri: str, device: str | torch.device = "cpu", manifest: Path | None = None
) -> HubModel:
    """Load the model a source URI names onto `device`; `manifest` is the starter hub's
    manifest, needed where the URI (or a pipeline's member) names a starter model."""
    scheme, rest = parse_source(uri)
    loader = importlib.import_module(SCHEME_LOADERS[scheme])
    if scheme in MANIFEST_SCHEMES:
        return loader.load(rest, torch.device(device), manifest)
    return loader.load(rest, torch.device(device))
