"""Identification specs on disk: where they live, which encoder made them, and reading them.

Kept free of the orchestration stack, so the CLI answers quickly.
"""

import json
from pathlib import Path

import numpy as np

from hubscout.errors import ConfigError
from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from hubscout.settings import Settings


def write_reference(settings: Settings, name: str, style_weight: float, rkme_name: str) -> None:
    """Record which encoder and style weight the generator specs were described with and
    which encoder embedded the RKME specs (examples are described the same way)."""
    folder = settings.layout.identification
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "encoder": f"starter:{name}",
        "style_weight": style_weight,
        "rkme_encoder": f"starter:{rkme_name}",
    }
    (folder / "reference.json").write_text(json.dumps(document) + "\n")


def _reference_document(settings: Settings) -> dict:
    path = settings.layout.identification / "reference.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def reference_source(settings: Settings) -> str | None:
    """The source URI of the encoder the identification stage embedded its generator specs
    with, or None before the stage has run."""
    return _reference_document(settings).get("encoder")


def rkme_encoder_source(settings: Settings) -> str | None:
    """The source URI of the encoder the identification stage embedded its RKME specs with
    (the generators' encoder where the stage ran before RKME had one of its own), or None
    before the stage has run."""
    document = _reference_document(settings)
    return document.get("rkme_encoder", document.get("encoder"))


def reference_style_weight(settings: Settings) -> float:
    """The style weight the identification stage chose, or 0 (the encoder alone) before the
    stage has run or when it ran before style statistics existed."""
    return float(_reference_document(settings).get("style_weight", 0.0))


def load_generator_specs(settings: Settings) -> dict[str, GeneratorSpecification]:
    """Every stored generator spec."""
    paths = sorted((settings.layout.identification / "generators").glob("*.spec.npz"))
    if not paths:
        raise ConfigError("no generator specs: run `dvc repro identification` first")
    return {
        path.name.removesuffix(".spec.npz"): GeneratorSpecification.load(path) for path in paths
    }


def load_rkme_specs(settings: Settings) -> dict[str, RKME]:
    """Every stored RKME spec."""
    paths = sorted((settings.layout.identification / "rkme").glob("*.rkme.npz"))
    if not paths:
        raise ConfigError("no RKME specs: run `dvc repro identification` first")
    return {path.name.removesuffix(".rkme.npz"): read_rkme(path) for path in paths}


def read_rkme(path: Path) -> RKME:
    """An RKME spec stored by the identification stage (points, weights, gamma)."""
    with np.load(path, allow_pickle=False) as arrays:
        return RKME(arrays["points"], arrays["weights"], float(arrays["gamma"]))
