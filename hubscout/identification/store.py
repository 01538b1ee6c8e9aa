"""Every model's identification specification on disk, addressed by what determines it: the
per-model job (tasks/registered.py) reads and writes them here, and the identification stage
writes the ones it fits while choosing the encoders, so that no spec is built twice.

Kept free of the orchestration stack, so the CLI answers quickly.
"""

import hashlib
from pathlib import Path

import numpy as np

from hubscout.cache import cache_key, read_npz, write_npz_atomic
from hubscout.identification.rkme import RKME

RKME_FORMAT = "rkme-1"  # part of every RKME spec's address: bump when fitting changes


def generator_spec_path(specs: Path, name: str, version: str) -> Path:
    """Where the generator spec of `version` (hubscout.identification.specs.spec_version)
    is kept under the specs folder (DataLayout.specs)."""
    return specs / "generators" / version / f"{name}.spec.npz"


def rkme_spec_path(
    specs: Path, encoder_hash: str, images: np.ndarray, points: int, gamma: float, seed: int
) -> Path:
    """Where the RKME spec of `images` (uint8 training images) is kept, fitted with `points`
    points in the space of the encoder of `encoder_hash` at bandwidth `gamma`."""
    images_hash = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
    key = cache_key(RKME_FORMAT, encoder_hash, images_hash, str(points), repr(gamma), str(seed))
    return specs / "rkme" / f"{key}.npz"


def read_rkme(path: Path, gamma: float) -> RKME | None:
    """The RKME spec stored at `path` (its bandwidth is part of its address), or None."""
    stored = read_npz(path)
    return None if stored is None else RKME(stored["points"], stored["weights"], gamma)


def write_rkme(path: Path, spec: RKME) -> None:
    """Store an RKME spec atomically."""
    write_npz_atomic(path, {"points": spec.points, "weights": spec.weights})
