import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from hubscout.errors import TransferabilityInputError
from hubscout.transferability import metrics
from hubscout.transferability.suite import METRICS, parse_metrics, score_pool
from hubscout.transferability.target import Target

from .conftest import blobs, reference_inputs

REFERENCE = {
    record["value"]: record
    for record in json.loads((Path(__file__).parent / "reference_values.json").read_text())[
        "records"
    ]
}
POOL_RELATIVE = {"ncti", "etran"}

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
    assert {m for m, metric in METRICS.items() if metric.pool_relative} == POOL_RELATIVE
    assert {m for m, metric in METRICS.items() if metric.stochastic} == {"n_leep", "pactran_gauss"}
    assert all(metric.paper for metric in METRICS.values())


def probs_for(labels, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(labels), 6))
    logits[np.arange(len(labels)), labels] += 2.0
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", sorted(ISSUE_METRICS - POOL_RELATIVE))
def test_every_metric_returns_a_finite_float_and_leaves_its_inputs_alone(name):
    features, labels = blobs(per_class=30, dim=8, classes=3, separation=1.0)
    probs = probs_for(labels)
    copies = features.copy(), labels.copy(), probs.copy()
    value = METRICS[name](features, labels, probs, seed=0)
    assert isinstance(value, float) and np.isfinite(value)
    for original, copy in zip((features, labels, probs), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("name", sorted(ISSUE_METRICS - POOL_RELATIVE))
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


@pytest.mark.parametrize("name", sorted(POOL_RELATIVE))
def test_a_pool_relative_metric_refuses_to_score_one_model_alone(name):
    features, labels = blobs(per_class=10, dim=4, classes=2, separation=1.0)
    with pytest.raises(TransferabilityInputError, match="score_pool"):
        METRICS[name](features, labels)


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
    with pytest.raises(TransferabilityInputError, match="sfda listed more than once"):
        parse_metrics("sfda,logme,sfda")


def test_metrics_fitted_in_sample_say_so_in_their_metadata():
    fitted = {m for m, metric in METRICS.items() if metric.fits_in_sample}
    assert fitted == {"h_score", "sfda", "etran", "ncti"}
    assert METRICS["ncti"].fit_dims == 64 and METRICS["sfda"].fit_dims is None
    target = Target(*blobs(per_class=40, dim=100, classes=4, separation=1.0))  # N=160, D=100
    assert METRICS["sfda"].saturated(target)  # 160 < 3 (100 + 4)
    assert not METRICS["logme"].saturated(target)
    assert METRICS["ncti"].saturated(target)  # 160 < 3 (64 + 4) = 204


# Values of the authors' published code on fixed inputs (reference_values.json) -------------


@pytest.mark.parametrize("name", ["logme", "leep", "nce", "h_score", "sfda", "parc"])
def test_a_metric_matches_its_authors_code(name):
    features, labels, probs = reference_inputs()["single"]
    reference = REFERENCE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # N = 200 >= 3 (40 + 4): nothing may warn
        ours = METRICS[name](features, labels, probs)
    assert ours == pytest.approx(reference["theirs"], abs=reference["tolerance"]), reference


def test_gbc_matches_the_authors_with_diagonal_gaussians_and_says_why_not_spherical():
    features, labels, _ = reference_inputs()["single"]
    diagonal, spherical = REFERENCE["gbc_diagonal"], REFERENCE["gbc_spherical"]
    ours = metrics.gbc(Target(features, labels), "diagonal")
    assert ours == pytest.approx(diagonal["theirs"], abs=diagonal["tolerance"])
    # spherical: the authors add the log-variance term once, hubscout d times (see the note)
    ours_spherical = METRICS["gbc"](features, labels)
    assert ours_spherical == pytest.approx(-0.0231539, abs=1e-7)
    assert spherical["theirs"] == pytest.approx(-0.0232384, abs=1e-7)


def test_pactran_matches_the_authors_bound_up_to_where_lbfgs_stops():
    features, labels, _ = reference_inputs()["single"]
    reference = REFERENCE["pactran_gauss"]
    ours = METRICS["pactran_gauss"](features, labels, seed=0)
    assert -ours == pytest.approx(reference["theirs"], abs=reference["tolerance"])
    assert -ours == pytest.approx(5.2006257, abs=0.005)  # the bound at convergence


def test_ncti_terms_and_pool_score_match_the_authors_code():
    pool, labels = reference_inputs()["pool"]
    theirs = REFERENCE["ncti_terms"]["theirs"]
    terms = {name: metrics.ncti_components(Target(f, labels)) for name, f in pool.items()}
    for name, value in terms.items():
        np.testing.assert_allclose(value, theirs[name], rtol=1e-8)
    # the authors' evaluate script: min-max each term over the pool, seli + ncc - vc
    their_terms = np.array([theirs[name] for name in pool])
    scaled = (their_terms - their_terms.min(0)) / (their_terms.max(0) - their_terms.min(0))
    expected = scaled[:, 0] + scaled[:, 1] - scaled[:, 2]
    ours = score_pool({n: Target(f, labels) for n, f in pool.items()}, ["ncti"])["ncti"]
    np.testing.assert_allclose([ours[name] for name in pool], expected, rtol=1e-8)


def test_etran_energy_matches_the_authors_code_and_its_lda_term_is_the_papers():
    pool, labels = reference_inputs()["pool"]
    energy, lda = REFERENCE["etran_energy"]["theirs"], REFERENCE["etran_lda"]["theirs"]
    terms = {name: metrics.etran_components(Target(f, labels)) for name, f in pool.items()}
    for name, features in pool.items():
        assert terms[name][0] == pytest.approx(energy[name], rel=1e-6)
        # their LDA term is an identity-covariance nearest-mean rule (see the JSON's note) ...
        means = np.stack([features[labels == c].mean(0) for c in range(4)])
        logits = features @ means.T - 0.5 * (means**2).sum(1) + np.log(0.25)
        nearest_mean = softmax(logits, axis=1)[np.arange(len(labels)), labels].mean()
        assert nearest_mean == pytest.approx(lda[name], abs=1e-9)
    # ... which the feature scale decides: at scale 0.05 ("b") it reads 0.26, hubscout's LDA 1.00
    assert lda["b"] == pytest.approx(0.2635, abs=1e-4)
    assert terms["b"][1] == pytest.approx(0.9998, abs=1e-4)
    # the authors' tw.py: min-max both terms over the pool, then 0.15 energy + 0.85 LDA
    energies = np.array([energy[name] for name in pool])
    ldas = np.array([terms[name][1] for name in pool])
    expected = 0.15 * (energies - energies.min()) / np.ptp(energies) + 0.85 * (
        ldas - ldas.min()
    ) / np.ptp(ldas)
    ours = score_pool({n: Target(f, labels) for n, f in pool.items()}, ["etran"])["etran"]
    np.testing.assert_allclose([ours[name] for name in pool], expected, rtol=1e-6)
