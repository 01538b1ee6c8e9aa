import numpy as np
import pytest

from hubscout.errors import TransferabilityInputError
from hubscout.transferability.target import Target


def test_labels_of_any_type_are_remapped_and_counted():
    features = np.arange(12.0).reshape(6, 2)
    target = Target(features, np.array(["b", "a", "b", "c", "a", "c"]))
    assert target.labels.tolist() == [1, 0, 1, 2, 0, 2]
    assert target.counts.tolist() == [2, 2, 2]
    assert Target(features, np.array([7, -3, 7, 40, -3, 40])).labels.tolist() == [1, 0, 1, 2, 0, 2]


def test_features_are_copied_in_float64():
    features = np.ones((4, 3), dtype=np.float32)
    target = Target(features, np.array([0, 0, 1, 1]))
    target.features[0, 0] = 5.0
    assert target.features.dtype == np.float64 and features[0, 0] == 1.0


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.ones((4, 2)), np.array([0, 0, 1]), "one label per row"),
        (np.ones((4, 2)), np.array([0, 0, 0, 1]), "fewer than 2 samples"),
        (np.ones((4, 2)), np.array([0, 0, 0, 0]), "at least 2 classes"),
        (np.array([[1.0, np.nan]] + [[1.0, 1.0]] * 3), np.array([0, 0, 1, 1]), "NaN or infinite"),
        (np.array([[np.inf, 0.0]] + [[1.0, 1.0]] * 3), np.array([0, 0, 1, 1]), "NaN or infinite"),
        (np.ones(4), np.array([0, 0, 1, 1]), r"2-D array \[N, D\]"),
    ],
)
def test_bad_inputs_raise_a_clear_error(features, labels, message):
    with pytest.raises(TransferabilityInputError, match=message):
        Target(features, labels)


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (np.full((4, 3), 0.5), "do not sum to 1"),
        (np.full((3, 2), 0.5), r"\[N=4, Cs\]"),
        (np.array([[1.5, -0.5]] * 4), "negative"),
    ],
)
def test_bad_source_probabilities_raise_a_clear_error(probs, message):
    with pytest.raises(TransferabilityInputError, match=message):
        Target(np.ones((4, 2)), np.array([0, 0, 1, 1]), probs)


def test_decompositions_are_computed_once_and_shared():
    rng = np.random.default_rng(0)
    target = Target(rng.normal(size=(50, 5)), np.repeat([0, 1], 25))
    assert target.covariance_eigen is target.covariance_eigen
    calls = []
    assert target.shared("x", lambda: calls.append(1) or 3) == 3
    assert target.shared("x", lambda: calls.append(1) or 4) == 3
    assert calls == [1]
    values, _ = target.covariance_eigen
    np.testing.assert_allclose(
        values, np.sort(np.linalg.eigvalsh(np.cov(target.features.T, bias=True)))[::-1], atol=1e-12
    )


def test_the_saturation_threshold_is_where_pure_noise_stops_scoring_high():
    # the figure behind SATURATION_SAMPLES_PER_DIMENSION: pure-noise features, D = 256,
    # C = 17 (the widest shape measured); SFDA as a share of the way from chance to 1
    import warnings

    from hubscout.transferability import metrics
    from hubscout.transferability.target import SATURATION_SAMPLES_PER_DIMENSION

    dim, classes = 256, 17
    shares = {}
    for factor in (2, SATURATION_SAMPLES_PER_DIMENSION):
        n = factor * (dim + classes) // classes * classes
        rng = np.random.default_rng(factor)
        target = Target(rng.normal(size=(n, dim)), np.arange(n) % classes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shares[factor] = (metrics.sfda(target) - 1 / classes) / (1 - 1 / classes)
        assert target.saturated() == (n < SATURATION_SAMPLES_PER_DIMENSION * (dim + classes))
    assert shares[2] > 0.6 and shares[SATURATION_SAMPLES_PER_DIMENSION] < 0.5, shares
