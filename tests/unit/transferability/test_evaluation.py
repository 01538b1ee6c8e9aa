import polars as pl
import pytest

from hubscout.transferability.evaluation import (
    agreement,
    evaluate,
    generalist_scores,
    random_agreement,
    skip_reason,
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


@pytest.mark.parametrize(
    ("scores", "truth", "reason"),
    [
        (dict.fromkeys(TRUTH, 1.0), TRUTH, "the metric gives every model the same score"),
        ({m: v for m, v in TRUTH.items()}, dict.fromkeys(TRUTH, 0.6), "same accuracy"),
        ({"a": 1.0, "b": 2.0}, {"a": 0.0, "b": 0.0}, "the best accuracy is 0"),
        ({"a": 1.0, "z": 2.0}, TRUTH, "1 model(s) scored: a ranking needs at least 2"),
    ],
)
def test_what_cannot_be_compared_is_skipped_with_its_reason(scores, truth, reason):
    assert reason in skip_reason(scores, truth)
    with pytest.raises(
        ValueError, match=reason.split(":")[0].replace("(", r"\(").replace(")", r"\)")
    ):
        agreement(scores, truth)


def test_random_scores_agree_around_zero():
    result = random_agreement(TRUTH)
    assert abs(result["tau_w"]) < 0.1
    assert result["top1_hit"] == pytest.approx(0.2, abs=0.07)
    # rel1 of a random pick is the mean accuracy over the best: 3.2 / 5 / 0.9 = 0.711
    assert result["rel1"] == pytest.approx(0.711, abs=0.04)


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
    flat_task = pl.DataFrame({"task": "t3", "model": list(TRUTH), "accuracy": 0.5})
    flat_scores = pl.DataFrame({"task": "t3", "model": list(TRUTH), "metric": "good", "score": 1.0})
    one_left = pl.DataFrame(  # a null score (a flagged one, dropped) leaves one model ranked
        {"task": "t1", "model": ["a", "b"], "metric": "sparse", "score": [1.0, None]}
    )
    evaluation = evaluate(pl.concat([scores, flat_scores, one_left]), pl.concat([truth, flat_task]))
    assert evaluation.height == 9  # good, bad, random per task; good, random on t3; sparse
    sparse = evaluation.filter(pl.col("metric") == "sparse").row(0, named=True)
    assert sparse["skipped"] == "1 model(s) scored: a ranking needs at least 2"
    skipped = evaluation.filter(pl.col("task") == "t3")
    assert skipped["skipped"].str.contains("same accuracy").all()
    assert skipped["tau_w"].is_null().all()
    summary = summarise(evaluation)
    assert summary["metric"].to_list()[0] == "good"
    good = summary.filter(pl.col("metric") == "good").row(0, named=True)
    assert good["tau_w"] == pytest.approx(1.0) and (good["tasks"], good["skipped"]) == (2, 1)
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
