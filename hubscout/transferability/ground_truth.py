"""Ground truth for transferability: how well a model really does on a target task.

Linear probe: multinomial logistic regression on standardised features; the inverse
regularisation C is chosen on the validation split from LINEAR_PROBE_GRID, the probe is
refitted on train + validation and its accuracy is reported on the test split.
"""

import hashlib
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from hubscout.cache import cache_key, read_json, source_digest, write_json_atomic

LINEAR_PROBE_GRID = (0.01, 0.1, 1.0, 10.0)
GROUND_TRUTH_LINEAR_PROBE = "linear_probe"


@dataclass(frozen=True)
class Split:
    """Features [N, D] and labels [N] of one split."""

    features: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ProbeResult:
    """Test accuracy of the refitted probe and the C chosen on validation."""

    accuracy: float
    inverse_regularisation: float
    validation_accuracy: float


def linear_probe(train: Split, val: Split, test: Split) -> ProbeResult:
    """Logistic-regression probe: C from the grid by validation accuracy (ties go to the
    stronger regularisation), refitted on train + val, scored on test."""
    probe, chosen, best_accuracy = fit_linear_probe(train, val)
    accuracy = probe.score(test.features, test.labels)
    return ProbeResult(float(accuracy), chosen, float(best_accuracy))


def cached_linear_probe(train: Split, val: Split, test: Split, cache_root: Path) -> ProbeResult:
    """linear_probe of the splits, from the cache when the same features and labels were
    probed by the same code before: the benchmark and the per-model job probe the same
    models on the same tasks."""
    digest = hashlib.sha256()
    for array in (part for split in (train, val, test) for part in asdict(split).values()):
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    code = source_digest(sys.modules[__name__])
    path = cache_root / "linear-probes" / f"{cache_key(code, digest.hexdigest())}.json"
    stored = read_json(path)
    if isinstance(stored, dict):
        return ProbeResult(**stored)
    result = linear_probe(train, val, test)
    write_json_atomic(path, asdict(result))
    return result


def fit_linear_probe(train: Split, val: Split) -> tuple[Pipeline, float, float]:
    """The probe `linear_probe` scores, refitted on train + val, with the C chosen on val
    and its validation accuracy."""
    validation = [(_fit(train, c).score(val.features, val.labels), c) for c in LINEAR_PROBE_GRID]
    best_accuracy = max(accuracy for accuracy, _ in validation)
    chosen = min(c for accuracy, c in validation if accuracy == best_accuracy)
    both = Split(
        np.concatenate([train.features, val.features]), np.concatenate([train.labels, val.labels])
    )
    return _fit(both, chosen), chosen, float(best_accuracy)


def _fit(split: Split, inverse_regularisation: float) -> Pipeline:
    probe = make_pipeline(
        StandardScaler(), LogisticRegression(C=inverse_regularisation, max_iter=2000)
    )
    return probe.fit(split.features, split.labels)
