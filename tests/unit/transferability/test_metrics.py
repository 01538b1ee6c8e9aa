import warnings

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.metrics import mutual_info_score

from hubscout.errors import TransferabilityInputError
from hubscout.transferability import metrics
from hubscout.transferability.suite import score_pool
from hubscout.transferability.target import SaturationWarning, Target

from .conftest import blobs


def one_hot(labels, classes):
    return np.eye(classes)[labels]


def test_leep_is_zero_for_a_perfect_source_head_and_log_prior_for_a_uniform_one():
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    features = np.random.default_rng(0).normal(size=(9, 3))
    assert metrics.leep(Target(features, labels, one_hot(labels, 3))) == pytest.approx(0.0)
    uniform = np.full((9, 5), 0.2)
    priors = np.bincount(labels) / 9
    expected = np.mean(np.log(priors[labels]))
    assert metrics.leep(Target(features, labels, uniform)) == pytest.approx(expected)


def test_leep_ignores_source_classes_that_get_no_mass():
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.2, 0.8, 0.0], [0.1, 0.9, 0.0]])
    value = metrics.leep(Target(np.eye(4), labels, probs))
    assert np.isfinite(value) and value < 0


def test_nce_is_minus_the_conditional_entropy():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 200)
    predicted = (labels + (rng.random(200) < 0.3)) % 6
    probs = one_hot(predicted, 6) * 0.9 + 0.1 / 6
    h_y = -np.sum((p := np.bincount(labels) / 200) * np.log(p))
    expected = mutual_info_score(labels, predicted) - h_y
    value = metrics.nce(Target(rng.normal(size=(200, 2)), labels, probs))
    assert value == pytest.approx(expected)


def test_source_metrics_need_source_probabilities(informative):
    with pytest.raises(TransferabilityInputError, match="source_probs"):
        metrics.leep(Target(*informative))


def test_h_score_saturates_and_warns_when_samples_are_few_while_shrinkage_stays_informative():
    labels = np.repeat(np.arange(10), 20)  # N = 200 <= D = 512
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(200, 512))
    signal = noise + rng.normal(0, 1.0, (10, 512))[labels]
    with pytest.warns(SaturationWarning, match="H-score"):
        h_noise = metrics.h_score(Target(noise, labels))
    with pytest.warns(SaturationWarning):
        h_signal = metrics.h_score(Target(signal, labels))
    assert h_noise == pytest.approx(9.0) and h_signal == pytest.approx(9.0)
    shrunk_noise = metrics.shrinkage_h_score(Target(noise, labels))
    shrunk_signal = metrics.shrinkage_h_score(Target(signal, labels))
    assert shrunk_signal > 2 * shrunk_noise
    assert shrunk_signal < 9.0


def test_h_score_without_saturation_matches_the_definition(informative):
    features, labels = informative
    target = Target(features, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = metrics.h_score(target)
    centred = features - features.mean(axis=0)
    cov_f = centred.T @ centred / len(features)
    g = target.class_means[target.labels] - features.mean(axis=0)
    cov_g = g.T @ g / len(features)
    assert value == pytest.approx(np.trace(np.linalg.pinv(cov_f) @ cov_g))


def test_ledoit_wolf_shrinkage_matches_sklearn(informative):
    features, labels = informative
    assert metrics.ledoit_wolf_shrinkage(Target(features, labels)) == pytest.approx(
        ledoit_wolf_shrinkage(features)
    )


def test_transrate_weights_classes_by_size():
    features, labels = blobs(per_class=10, dim=8, classes=3, separation=1.0, seed=4)
    extra, extra_labels = blobs(per_class=60, dim=8, classes=1, separation=1.0, seed=5)
    features, labels = np.vstack([features, extra]), np.concatenate([labels, extra_labels])
    value = metrics.transrate(Target(features, labels))
    z = features - features.mean(axis=0)
    z /= np.linalg.norm(z, axis=1, keepdims=True)

    def rate(rows):
        return 0.5 * np.linalg.slogdet(np.eye(8) + rows.T @ rows / (len(rows) * 1e-4))[1]

    classes = range(3)
    weighted = rate(z) - sum(np.mean(labels == c) * rate(z[labels == c]) for c in classes)
    uniform = rate(z) - sum(rate(z[labels == c]) / 3 for c in classes)
    assert value == pytest.approx(weighted)
    assert abs(weighted - uniform) > 1.0


def test_sfda_etran_and_ncti_warn_when_in_sample_lda_saturates():
    labels = np.repeat(np.arange(4), 50)  # N = 200 <= D = 512, random labels
    features = np.random.default_rng(0).normal(size=(200, 512))
    with pytest.warns(SaturationWarning, match="SFDA"):
        saturated = metrics.sfda(Target(features, labels))
    assert saturated > 0.95
    with pytest.warns(SaturationWarning, match="ETran"):
        metrics.etran_components(Target(features, labels))
    with pytest.warns(SaturationWarning, match=r"NCTI: N=200 < 3 \(d \+ C\) = 204 with d=64"):
        metrics.ncti_components(Target(features, labels))


def test_saturation_is_flagged_above_n_equal_d_where_noise_still_scores_high():
    # the case: pure noise, D = 50, C = 4, N = 52 > D scored SFDA 1.000 unflagged
    labels = np.arange(52) % 4
    features = np.random.default_rng(3).normal(size=(52, 50))
    with pytest.warns(SaturationWarning, match=r"N=52 < 3 \(d \+ C\) = 162"):
        value = metrics.sfda(Target(features, labels))
    assert value > 0.99


def test_sfda_ranks_informative_features_above_noise_without_warning(informative, noise):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good, bad = metrics.sfda(Target(*informative)), metrics.sfda(Target(*noise))
    assert 0 < bad < good <= 1


def test_h_score_and_gbc_on_a_case_computed_by_hand():
    features, labels = np.array([[0.0], [2.0], [4.0], [6.0]]), np.array([0, 0, 1, 1])
    # Var f = (9 + 1 + 1 + 9) / 4 = 5; E[f | y] = 1, 1, 5, 5 has variance 4: H = 4 / 5
    with pytest.warns(SaturationWarning):  # N = 4 < 3 (1 + 2)
        assert metrics.h_score(Target(features, labels)) == pytest.approx(0.8, abs=1e-12)
    two = np.array([[-1.0], [1.0], [3.0], [5.0]])
    # means 0 and 4, variances 1: D_B = 16 / 8 = 2 for both ordered pairs
    assert metrics.gbc(Target(two, labels)) == pytest.approx(-2 * np.exp(-2.0), abs=1e-12)


def test_knn_on_a_case_counted_by_hand():
    # six class-0 points at 0-5 degrees, six class-1 points at 90-95 degrees and one class-0
    # point at 92.5 degrees: only that impostor's five nearest neighbours vote wrong
    angles = np.radians([0, 1, 2, 3, 4, 5, 90, 91, 92, 93, 94, 95, 92.5])
    features = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    labels = np.array([0] * 6 + [1] * 6 + [0])
    assert metrics.knn_accuracy(Target(features, labels)) == pytest.approx(12 / 13)


def test_gbc_is_closer_to_zero_for_separated_classes(informative, noise):
    good, bad = metrics.gbc(Target(*informative)), metrics.gbc(Target(*noise))
    assert bad < good <= 0
    assert metrics.gbc(Target(*informative), "diagonal") <= 0
    with pytest.raises(TransferabilityInputError, match="spherical or diagonal"):
        metrics.gbc(Target(*informative), "full")


@pytest.mark.parametrize(
    "metric",
    [metrics.parc, metrics.knn_accuracy, metrics.transrate, metrics.shrinkage_h_score],
)
def test_feature_metrics_prefer_informative_features(metric, informative, noise):
    assert metric(Target(*informative)) > metric(Target(*noise))


@pytest.mark.parametrize("metric", [metrics.n_leep, metrics.pactran_gauss])
def test_stochastic_metrics_repeat_with_a_seed_and_prefer_informative_features(
    metric, informative, noise
):
    first = metric(Target(*informative), 7)
    assert metric(Target(*informative), 7) == first
    assert first > metric(Target(*noise), 7)


def test_knn_is_perfect_on_separated_clusters():
    features, labels = blobs(per_class=20, dim=4, classes=3, separation=50.0)
    assert metrics.knn_accuracy(Target(features, labels)) == 1.0


def test_pool_terms_are_min_maxed_and_combined_as_their_authors_do():
    ncti_terms = np.array([[3.0, 0.9, 1.0], [1.0, 0.5, 2.0], [2.0, 0.7, 1.5]])
    np.testing.assert_allclose(metrics.ncti_from_components(ncti_terms), [2.0, -1.0, 0.5])
    etran_terms = np.array([[12.0, 0.5], [10.0, 0.9], [11.0, 0.7]])
    np.testing.assert_allclose(metrics.etran_from_components(etran_terms), [0.15, 0.85, 0.5])
    np.testing.assert_array_equal(metrics.ncti_from_components(ncti_terms[:1]), [0.0])


def test_etran_is_not_decided_by_the_feature_scale(informative, noise):
    # the case: noise scaled by 5 has the larger energy, which raw energy + LDA let
    # decide; min-maxed and weighted as the authors do, the LDA term decides
    features, labels = informative
    good, loud = Target(features, labels), Target(noise[0] * 5, labels)
    assert metrics.etran_components(loud)[0] > metrics.etran_components(good)[0] + 1
    scores = score_pool({"good": good, "loud": loud}, ["etran"])["etran"]
    assert scores == {"good": pytest.approx(0.85), "loud": pytest.approx(0.15)}
