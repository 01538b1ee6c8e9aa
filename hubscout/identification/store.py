"""Identification specs on disk, as the identification stage wrote them, and reading them.

Kept free of the orchestration stack, so the CLI answers quickly.
"""

from pathlib import Path

import numpy as np

from hubscout.errors import ConfigError
from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from hubscout.settings import Settings


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
