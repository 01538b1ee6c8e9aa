import numpy as np

from hubscout.transferability.ground_truth import LINEAR_PROBE_GRID, Split, linear_probe

from .conftest import blobs


def splits(separation: float, seed: int = 0) -> list[Split]:
    features, labels = blobs(per_class=90, dim=10, classes=3, separation=separation, seed=seed)
    order = np.random.default_rng(seed).permutation(len(labels))
    features, labels = features[order], labels[order]
    cuts = [(0, 150), (150, 200), (200, 270)]
    return [Split(features[a:b], labels[a:b]) for a, b in cuts]


def test_the_probe_separates_separable_classes_and_stays_near_chance_on_noise():
    good = linear_probe(*splits(separation=3.0))
    assert good.accuracy >= 0.95 and good.inverse_regularisation in LINEAR_PROBE_GRID
    train, val, test = splits(separation=3.0)
    rng = np.random.default_rng(1)
    shuffled = [Split(s.features, rng.permutation(s.labels)) for s in (train, val, test)]
    assert linear_probe(*shuffled).accuracy < 0.55


def test_the_probe_is_deterministic_and_leaves_its_inputs_alone():
    train, val, test = splits(separation=1.0)
    before = train.features.copy()
    assert linear_probe(train, val, test) == linear_probe(train, val, test)
    np.testing.assert_array_equal(train.features, before)
