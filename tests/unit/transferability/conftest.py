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
