import numpy as np
import pytest


def blobs(per_class: int, dim: int, classes: int, separation: float, seed: int = 0):
    """Gaussian class clusters: features [N, D] float64 and labels [N]."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, separation, (classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    features = centres[labels] + rng.normal(0, 1, (len(labels), dim))
    return features, labels


@pytest.fixture
def informative():
    return blobs(per_class=40, dim=16, classes=4, separation=1.5, seed=1)


@pytest.fixture
def noise(informative):
    features, labels = informative
    return np.random.default_rng(2).normal(0, 1, features.shape), labels


def reference_inputs():
    """The fixed inputs the authors' code was run on (see reference_values.json):
    `single` features [200, 40], labels [200] (4 classes) and source probabilities [200, 6];
    `pool` three models' features [240, 72] of one 4-class task, at scales 1, 0.05 and 3."""
    features, labels = blobs(per_class=50, dim=40, classes=4, separation=0.8, seed=21)
    logits = np.random.default_rng(22).normal(size=(len(labels), 6))
    logits[np.arange(len(labels)), labels % 6] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pool = {}
    for name, separation, seed, scale in (
        ("a", 1.0, 31, 1.0),
        ("b", 0.6, 32, 0.05),
        ("c", 0.3, 33, 3.0),
    ):
        pool_features, pool_labels = blobs(
            per_class=60, dim=72, classes=4, separation=separation, seed=seed
        )
        pool[name] = pool_features * scale
    return {"single": (features, labels, probs), "pool": (pool, pool_labels)}
