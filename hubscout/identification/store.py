"""Identification specs on disk: where they live, which encoder made them, and reading them.

Kept free of the orchestration stack, so the CLI answers quickly.
"""

import json
from pathlib import Path

import numpy as np

from hubscout.errors import ConfigError
from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from hubscout.models import load_model
from hubscout.models.base import VisionLanguageModel
from hubscout.settings import Settings


def identification_dir(settings: Settings) -> Path:
    """Where specs and benchmark tables live."""
    return settings.data_dir / "identification"


def write_reference(settings: Settings, name: str) -> None:
    """Record which encoder the specs were embedded with (the CLI embeds examples with it)."""
    folder = identification_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reference.json").write_text(json.dumps({"encoder": f"starter:{name}"}) + "\n")


def reference_source(settings: Settings) -> str | None:
    """The source URI of the encoder the identification stage embedded its specs with, or
    None before the stage has run."""
    path = identification_dir(settings) / "reference.json"
    return json.loads(path.read_text())["encoder"] if path.is_file() else None


def read_reference(settings: Settings) -> VisionLanguageModel:
    """The reference encoder the specs were built with."""
    source = reference_source(settings)
    if source is None:
        path = identification_dir(settings) / "reference.json"
        raise ConfigError(f"{path} is missing: run `dvc repro identification` first")
    model = load_model(source)
    if not isinstance(model, VisionLanguageModel):
        raise ConfigError(f"the reference encoder {source} is not a VLM")
    return model


def load_generator_specs(settings: Settings) -> dict[str, GeneratorSpecification]:
    """Every stored generator spec."""
    paths = sorted((identification_dir(settings) / "generators").glob("*.spec.npz"))
    if not paths:
        raise ConfigError("no generator specs: run `dvc repro identification` first")
    return {
        path.name.removesuffix(".spec.npz"): GeneratorSpecification.load(path) for path in paths
    }


def load_rkme_specs(settings: Settings) -> dict[str, RKME]:
    """Every stored RKME spec."""
    paths = sorted((identification_dir(settings) / "rkme").glob("*.rkme.npz"))
    if not paths:
        raise ConfigError("no RKME specs: run `dvc repro identification` first")
    return {path.name.removesuffix(".rkme.npz"): read_rkme(path) for path in paths}


def read_rkme(path: Path) -> RKME:
    """An RKME spec stored by the identification stage (points, weights, gamma)."""
    with np.load(path, allow_pickle=False) as arrays:
        return RKME(arrays["points"], arrays["weights"], float(arrays["gamma"]))
