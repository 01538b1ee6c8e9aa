import numpy as np
import pytest

from hubscout.errors import TransferabilityInputError
from hubscout.transferability.suite import METRICS, parse_metrics, score_pool
from hubscout.transferability.target import Target

from .conftest import blobs

ISSUE_METRICS = {
    "logme",
    "leep",
    "nce",
    "n_leep",
    "h_score",
    "shrinkage_h_score",
    "gbc",
    "transrate",
    "sfda",
    "parc",
    "pactran_gauss",
    "etran",
    "ncti",
    "knn",
}


def test_the_suite_holds_every_metric_with_its_metadata():
    assert set(METRICS) == ISSUE_METRICS
    assert {m for m, metric in METRICS.items() if metric.needs_source_probs} == {"leep", "nce"}
    assert {m for m, metric in METRICS.items() if metric.pool_relative} == {"ncti"}
    assert {m for m, metric in METRICS.items() if metric.stochastic} == {"n_leep", "pactran_gauss"}
    assert all(metric.paper for metric in METRICS.values())


def probs_for(labels, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(labels), 6))
    logits[np.arange(len(labels)), labels] += 2.0
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", sorted(ISSUE_METRICS - {"ncti"}))
def test_every_metric_returns_a_finite_float_and_leaves_its_inputs_alone(name):
    features, labels = blobs(per_class=30, dim=8, classes=3, separation=1.0)
    probs = probs_for(labels)
    copies = features.copy(), labels.copy(), probs.copy()
    value = METRICS[name](features, labels, probs, seed=0)
    assert isinstance(value, float) and np.isfinite(value)
    for original, copy in zip((features, labels, probs), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("name", sorted(ISSUE_METRICS - {"ncti"}))
def test_string_labels_give_the_same_score_as_integers(name):
    features, labels = blobs(per_class=30, dim=8, classes=3, separation=1.0)
    names = np.array(["cat", "dog", "emu"])[labels]
    probs = probs_for(labels)
    assert METRICS[name](features, names, probs) == pytest.approx(
        METRICS[name](features, labels, probs)
    )


@pytest.mark.parametrize(
    "name", [n for n, m in METRICS.items() if m.scale_invariant and not m.needs_source_probs]
)
def test_scale_invariant_metrics_ignore_the_feature_scale(name):
    features, labels = blobs(per_class=30, dim=8, classes=3, separation=1.0)
    values = [METRICS[name](features * scale, labels) for scale in (0.01, 1.0, 100.0)]
    np.testing.assert_allclose(values, values[1], rtol=1e-6)


def test_a_pool_relative_metric_refuses_to_score_one_model_alone():
    features, labels = blobs(per_class=10, dim=4, classes=2, separation=1.0)
    with pytest.raises(TransferabilityInputError, match="score_pool"):
        METRICS["ncti"](features, labels)


def test_score_pool_scores_every_model_and_skips_source_metrics_without_a_head():
    features, labels = blobs(per_class=30, dim=8, classes=3, separation=2.0)
    noise = np.random.default_rng(1).normal(size=features.shape)
    targets = {
        "good": Target(features, labels, probs_for(labels)),
        "noise": Target(noise, labels),
    }
    scores = score_pool(targets, ["logme", "leep", "ncti"])
    assert set(scores["logme"]) == {"good", "noise"}
    assert set(scores["leep"]) == {"good"}
    assert scores["ncti"]["good"] > scores["ncti"]["noise"]
    assert scores["logme"]["good"] > scores["logme"]["noise"]


def test_parse_metrics_accepts_a_comma_list_and_names_the_choices():
    assert parse_metrics("logme, sfda") == ["logme", "sfda"]
    assert parse_metrics(None) == list(METRICS)
    with pytest.raises(TransferabilityInputError, match=r"unknown metric.*choose from logme"):
        parse_metrics("logme,bogus")


def test_metrics_that_warn_on_few_samples_say_so_in_their_metadata():
    saturating = {m for m, metric in METRICS.items() if metric.saturates_with_few_samples}
    assert saturating == {"h_score", "sfda", "etran"}
