import warnings

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.metrics import mutual_info_score

from hubscout.errors import TransferabilityInputError
from hubscout.transferability import metrics
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


def test_sfda_and_etran_warn_when_in_sample_lda_saturates():
    labels = np.repeat(np.arange(4), 50)  # N = 200 <= D = 512, random labels
    features = np.random.default_rng(0).normal(size=(200, 512))
    with pytest.warns(SaturationWarning, match="SFDA"):
        saturated = metrics.sfda(Target(features, labels))
    assert saturated > 0.95
    with pytest.warns(SaturationWarning, match="ETran"):
        metrics.etran(Target(features, labels))


def test_sfda_ranks_informative_features_above_noise_without_warning(informative, noise):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good, bad = metrics.sfda(Target(*informative)), metrics.sfda(Target(*noise))
    assert 0 < bad < good <= 1


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


def test_ncti_is_min_maxed_across_the_pool(informative, noise):
    components = np.stack(
        [metrics.ncti_components(Target(*informative)), metrics.ncti_components(Target(*noise))]
    )
    scores = metrics.ncti_from_components(components)
    assert scores[0] > scores[1]
    assert scores.min() >= -1 and scores.max() <= 2
