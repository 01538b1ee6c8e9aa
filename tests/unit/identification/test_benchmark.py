from dataclasses import replace

import numpy as np
import polars as pl
import pytest
import scipy.linalg
from sklearn.metrics import roc_auc_score

from hubscout.identification.benchmark import (
    BANDWIDTHS,
    OpenSetCalibration,
    auroc,
    frechet_distance,
    generator_benchmark,
    mixture_benchmark,
    open_set_summary,
    open_set_tasks,
    rkme_benchmark,
    rkme_encoder_score,
    rkme_open_set_tasks,
    summarise_generators,
    tune_open_set,
    tune_pmi,
    tuning_top1,
)
from hubscout.identification.pmi import PMI_DEFAULTS
from hubscout.identification.rkme import RKME, fit_rkme, mmd2


def test_frechet_distance_matches_the_textbook_formula_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 5)), rng.normal(1.0, 2.0, size=(300, 5))
    ca, cb = np.cov(a.T, bias=True), np.cov(b.T, bias=True)
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(
        ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real
    )
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert np.isfinite(frechet_distance(a[:1], b[:2]))  # singular covariances


def test_generator_benchmark_counts_every_task_and_ranks_well(synthetic_specs):
    specs, images, texts = synthetic_specs
    held = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 100 + g) for g in range(3)}
    fresh = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 200 + g) for g in range(3)}
    table = generator_benchmark(specs, held, fresh, texts, ks=(1, 4))
    assert table.filter(pl.col("method") == "pmi").height == 3 * 4 * 2
    summary = summarise_generators(table)
    pmi = summary.filter(pl.col("method") == "pmi")
    assert (pmi["top1"] == 1.0).all()
    oracle = summary.filter((pl.col("method") == "oracle") & (pl.col("k") == 4)).row(0, named=True)
    rand = summary.filter((pl.col("method") == "random") & (pl.col("k") == 4))["fd"][0]
    assert oracle["top1"] is None and oracle["fd"] < rand  # the oracle keeps only its distance
    # PMI picked the true generator every time, so its distance is the oracle's
    assert pmi.filter(pl.col("k") == 4)["fd"][0] == pytest.approx(oracle["fd"])


def test_pmi_tuning_runs_its_grid_on_tuning_images_best_first(synthetic_specs):
    specs, images, texts = synthetic_specs
    tuning = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 300 + g) for g in range(3)}
    grid = tune_pmi(specs, tuning, texts)
    assert grid.filter(pl.col("method") == "pmi").height == 30
    assert grid.filter(pl.col("method") == "pmi_with_prompt").height == 30
    for (_,), part in grid.group_by("method"):
        assert part["top1"].to_list() == sorted(part["top1"], reverse=True)
    # on these well-separated generators every setting identifies each one: 1.0 everywhere
    assert grid["top1"].min() == 1.0
    first = grid.filter(pl.col("method") == "pmi").row(0, named=True)
    assert (first["image_temperature"], first["bandwidth"]) == (0.02, 0.001)  # ties: defaults


def test_rkme_benchmarks_score_models_and_slices():
    rng = np.random.default_rng(0)
    data = {"a": rng.normal(0, 0.3, (300, 3)), "b": rng.normal(2, 0.3, (300, 3))}
    data["a2"] = data["a"]  # two models of one slice
    specs = {m: fit_rkme(x[:200], 8, 0.5) for m, x in data.items()}
    slices = {"a": "s1", "a2": "s1", "b": "s2"}
    queries = {m: x[200:] for m, x in data.items()}
    searches = rkme_benchmark(specs, slices, queries, sizes=(10,), draws=3)
    assert searches.height == 9 and searches["top1_slice"].all()
    mixtures = mixture_benchmark(specs, slices, queries, per_slice=20)
    assert mixtures.height == 1 and mixtures["weight_on_true_slices"][0] > 0.9


def test_auroc_counts_the_pairs_a_positive_wins_and_ties_as_half():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of the 4 pairs are won
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert auroc(np.array([1.0, 1.0]), np.array([1, 0])) == 0.5
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=500), rng.random(500) < 0.3
    assert auroc(scores + labels, labels) == pytest.approx(roc_auc_score(labels, scores + labels))
    with pytest.raises(ValueError, match="both groups"):
        auroc(np.zeros(3), np.ones(3))


def test_calibration_recovers_the_log_odds_of_two_gaussians():
    # negatives N(0, 1), positives N(2, 1), as many of each: log-odds 2x - 2, so P = 1/2 at 1
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 20000), rng.normal(2, 1, 20000)])
    from_hub = np.repeat([False, True], 20000)
    calibration = OpenSetCalibration.fit(scores, from_hub)
    assert calibration.slope == pytest.approx(2.0, abs=0.06)
    assert calibration.intercept == pytest.approx(-2.0, abs=0.06)
    assert calibration.threshold == pytest.approx(1.0, abs=0.03)
    assert calibration.probability(np.array([calibration.threshold]))[0] == pytest.approx(0.5)


def test_open_set_tasks_leave_each_generator_out_and_separate_distinct_ones(synthetic_specs):
    specs, images, _ = synthetic_specs
    held = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 100 + g) for g in range(3)}
    # the world's own renders: the prompts' content without any generator's style
    noise = np.random.default_rng(7).normal(0, 0.15, (4, 8, 16))
    content = np.stack([specs["gen-0"].prompt_embeddings[p] for p in range(4)])
    world = content[:, None] + noise
    world /= np.linalg.norm(world, axis=-1, keepdims=True)
    table = open_set_tasks(specs, held, world, k=4)
    # left out x prompts x the generator the examples are of, then one world task a prompt
    assert table.height == 3 * 4 * 3 + 4
    assert table.filter(pl.col("generator") == "world")["left_out"].null_count() == 4
    assert table["from_hub"].to_list() == [
        source not in (left, "world")
        for left, source in table.select("left_out", "generator").iter_rows()
    ]
    # well-separated styles: every hub example outscores every example no hub generator made
    hub, others = table.filter(pl.col("from_hub")), table.filter(~pl.col("from_hub"))
    assert hub["score"].min() > others["score"].max()
    calibration = OpenSetCalibration.fit(table["score"], table["from_hub"])
    summary = open_set_summary(table, calibration)
    assert summary == {
        "auroc": 1.0, "auroc_left_out_generators": 1.0, "auroc_world_renders": 1.0,
        "hub_answered_none": 0.0, "others_answered_from_hub": 0.0, "tasks": 40,
    }  # fmt: skip


def test_tuning_top1_counts_the_identified_generators(synthetic_specs):
    specs, images, _ = synthetic_specs
    tuning = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 200 + g) for g in range(3)}
    assert tuning_top1(specs, tuning) == 1.0
    # the examples of gen-2 relabelled as gen-1's: gen-1's tasks all fail, the rest hold
    swapped = {**tuning, "gen-1": tuning["gen-2"]}
    assert tuning_top1(specs, swapped) == pytest.approx(2 / 3)


def _four_slices() -> tuple[dict, dict, dict, dict]:
    """Specs, slices, queries and disjoint hubs of three separate slices (two models on s1)
    and a model "ab" trained on the data of a and b (slice s4, so trained on part of s1 and
    of s2)."""
    rng = np.random.default_rng(0)
    data = {m: rng.normal(c, 0.3, (300, 3)) for m, c in (("a", 0), ("b", 2), ("c", -2))}
    data["a2"] = data["a"]
    data["ab"] = np.empty((300, 3))
    data["ab"][0::2], data["ab"][1::2] = data["a"][:150], data["b"][:150]
    specs = {m: fit_rkme(x[:200], 8, 0.5) for m, x in data.items()}
    slices = {"a": "s1", "a2": "s1", "b": "s2", "c": "s3", "ab": "s4"}
    queries = {m: x[200:] for m, x in data.items()}
    disjoint = {"s1": ("b", "c"), "s2": ("a", "a2", "c"), "s3": ("a", "a2", "ab", "b")}
    return specs, slices, queries, disjoint | {"s4": ("c",)}


def test_rkme_open_set_tests_each_slice_against_the_models_trained_on_none_of_it():
    # leaving s1 out leaves b and c: a and a2 are new data, ab (trained on part of s1) is
    # neither new nor the hub's and sits out; the score is minus the smallest MMD^2
    specs, slices, queries, disjoint = _four_slices()
    table = rkme_open_set_tasks(specs, slices, queries, disjoint, n=10, draws=2)
    rows = {s: table.filter(pl.col("left_out_slice") == s) for s in disjoint}
    assert [part.height for part in rows.values()] == [4 * 2, 4 * 2, 5 * 2, 2 * 2]
    assert rows["s1"].filter(~pl.col("from_hub"))["model"].unique().sort().to_list() == ["a", "a2"]
    assert "ab" not in rows["s1"]["model"].to_list() + rows["s2"]["model"].to_list()
    hub, others = table.filter(pl.col("from_hub")), table.filter(~pl.col("from_hub"))
    assert hub["score"].min() > others["score"].max() and (table["score"] <= 0).all()
    # one draw by hand: the same generator state draws the same images first
    picked = queries["a"][np.random.default_rng(0).choice(100, size=10, replace=False)]
    expected = -min(mmd2(specs[m], picked) for m in ("b", "c"))
    assert table.row(0, named=True) == {
        "left_out_slice": "s1", "model": "a", "from_hub": False, "score": pytest.approx(expected)
    }  # fmt: skip
    nothing = rkme_open_set_tasks(specs, slices, queries, dict.fromkeys(disjoint, ()))
    assert nothing.height == 0 and nothing.columns == table.columns


def test_the_open_set_bandwidth_is_the_one_that_separates_the_tuning_tasks_best(synthetic_specs):
    specs, images, _ = synthetic_specs
    tuning = {f"gen-{g}": images(g, [0, 1, 2, 3], 8, 300 + g) for g in range(3)}
    content = np.stack([specs["gen-0"].prompt_embeddings[p] for p in range(4)])
    world = content[:, None] + np.random.default_rng(8).normal(0, 0.15, (4, 8, 16))
    world /= np.linalg.norm(world, axis=-1, keepdims=True)
    parameters, table = tune_open_set(specs, tuning, world, seed=3)
    by_bandwidth = {
        h: auroc(
            (t := open_set_tasks(specs, tuning, world, 4, 3, replace(parameters, bandwidth=h)))[
                "score"
            ].to_numpy(),
            t["from_hub"].to_numpy(),
        )
        for h in BANDWIDTHS
    }
    best = max(by_bandwidth.values())
    assert parameters.bandwidth == next(h for h in BANDWIDTHS if by_bandwidth[h] == best)
    assert parameters.image_temperature == PMI_DEFAULTS.image_temperature
    assert auroc(table["score"].to_numpy(), table["from_hub"].to_numpy()) == best


def test_an_rkme_encoder_is_scored_by_slice_top1_and_open_set_auroc_on_tuning_queries():
    specs, slices, tuning, disjoint = _four_slices()
    del specs["ab"], slices["ab"], tuning["ab"], disjoint["s4"]  # three separate slices
    seeing = rkme_encoder_score(specs, slices, tuning, disjoint)
    assert seeing == {"top1_slice": 1.0, "open_set_auroc": 1.0, "score": 1.0}
    # an encoder that maps every image to one point: every MMD^2 is 0, so the open set is a
    # coin (AUROC 1/2) and search names "a" first, the right slice for a and a2 only (2 of 4)
    blind = {m: RKME(np.zeros((1, 3)), np.ones(1), 0.5) for m in specs}
    zeros = {m: np.zeros((100, 3)) for m in specs}
    assert rkme_encoder_score(blind, slices, zeros, disjoint) == {
        "top1_slice": 0.5, "open_set_auroc": 0.5, "score": 0.5
    }  # fmt: skip
    # where every model was trained on part of every slice there is no open set to score
    overlapping = dict.fromkeys(disjoint, ())
    assert rkme_encoder_score(blind, slices, zeros, overlapping) == {
        "top1_slice": 0.5, "open_set_auroc": None, "score": 0.5
    }  # fmt: skip
