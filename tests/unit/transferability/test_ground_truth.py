import numpy as np
import pytest

from hubscout.transferability.ground_truth import (
    LINEAR_PROBE_GRID,
    Split,
    cached_linear_probe,
    linear_probe,
)

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


def test_a_probe_of_the_same_features_and_labels_is_read_from_the_cache(tmp_path, monkeypatch):
    from hubscout.transferability import ground_truth

    train, val, test = splits(separation=1.0)
    first = cached_linear_probe(train, val, test, tmp_path)
    assert first == linear_probe(train, val, test)
    assert len(list((tmp_path / "linear-probes").glob("*.json"))) == 1

    def refuse(*_):
        raise AssertionError("probed again although the result is cached")

    monkeypatch.setattr(ground_truth, "linear_probe", refuse)
    assert cached_linear_probe(train, val, test, tmp_path) == first
    moved = Split(test.features, np.roll(test.labels, 1))  # same features, other labels
    with pytest.raises(AssertionError, match="probed again"):
        cached_linear_probe(train, val, moved, tmp_path)
