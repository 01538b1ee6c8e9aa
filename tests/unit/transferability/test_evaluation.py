import polars as pl
import pytest

from hubscout.transferability.evaluation import (
    agreement,
    evaluate,
    generalist_scores,
    random_agreement,
    summarise,
)

TRUTH = {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.5, "e": 0.3}


def test_a_perfect_ranking_agrees_fully_and_a_reversed_one_not_at_all():
    perfect = agreement({m: v * 10 for m, v in TRUTH.items()}, TRUTH)
    assert perfect == {
        "tau_w": pytest.approx(1.0),
        "tau": pytest.approx(1.0),
        "pearson": pytest.approx(1.0),
        "top1_hit": 1.0,
        "top3_hit": 1.0,
        "rel1": 1.0,
        "rel3": 1.0,
    }
    reversed_ = agreement({m: -v for m, v in TRUTH.items()}, TRUTH)
    assert reversed_["tau_w"] == pytest.approx(-1.0) and reversed_["top1_hit"] == 0.0
    assert reversed_["rel1"] == pytest.approx(0.3 / 0.9)
    assert reversed_["rel3"] == pytest.approx(0.7 / 0.9) and reversed_["top3_hit"] == 0.0


def test_a_constant_score_carries_no_ranking():
    flat = agreement(dict.fromkeys(TRUTH, 1.0), TRUTH)
    assert flat["tau_w"] == 0.0 and flat["tau"] == 0.0


def test_random_scores_agree_around_zero():
    result = random_agreement(TRUTH)
    assert abs(result["tau_w"]) < 0.1
    assert result["top1_hit"] == pytest.approx(0.2, abs=0.07)


def test_evaluate_and_summarise_per_task_and_metric():
    truth = pl.DataFrame(
        [(t, m, v) for t in ("t1", "t2") for m, v in TRUTH.items()],
        schema=["task", "model", "accuracy"],
        orient="row",
    )
    scores = pl.DataFrame(
        [(t, m, "good", v) for t in ("t1", "t2") for m, v in TRUTH.items()]
        + [(t, m, "bad", -v) for t in ("t1", "t2") for m, v in TRUTH.items()],
        schema=["task", "model", "metric", "score"],
        orient="row",
    )
    evaluation = evaluate(scores, truth)
    assert evaluation.height == 6  # good, bad and random per task
    summary = summarise(evaluation)
    assert summary["metric"].to_list()[0] == "good"
    assert summary.filter(pl.col("metric") == "bad")["tau_w"][0] == pytest.approx(-1.0)


def test_the_generalist_score_is_the_mean_accuracy_over_the_other_tasks():
    truth = pl.DataFrame(
        {"task": ["t1", "t2", "t3"], "model": ["m"] * 3, "accuracy": [0.2, 0.4, 0.9]}
    )
    scores = dict(generalist_scores(truth).select("task", "score").iter_rows())
    assert scores == {
        "t1": pytest.approx(0.65),
        "t2": pytest.approx(0.55),
        "t3": pytest.approx(0.3),
    }
