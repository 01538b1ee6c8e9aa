"""How well transferability scores rank models against a ground truth, per task.

Weighted Kendall tau (scipy's weightedtau with its defaults: hyperbolic weights, both
orders averaged), Kendall tau, Pearson r, top-k hit (the best model is among the k
best-scored) and rel@k (best accuracy among the k best-scored / best accuracy).
"""

from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy.stats import kendalltau, pearsonr, weightedtau

RANDOM_DRAWS = 200
MEASURES = ("tau_w", "tau", "pearson", "top1_hit", "top3_hit", "rel1", "rel3")


def skip_reason(scores: Mapping[str, float], truth: Mapping[str, float]) -> str | None:
    """Why `scores` cannot be compared with `truth` (None when they can): rank correlations
    and rel@k are undefined with fewer than two models, a constant side or a best accuracy
    of 0, and would reach the means as NaN."""
    models = sorted(set(scores) & set(truth))
    reason = truth_skip_reason({m: truth[m] for m in models})
    if reason is None and np.ptp([scores[m] for m in models]) == 0:
        return "the metric gives every model the same score"
    return reason


def truth_skip_reason(truth: Mapping[str, float]) -> str | None:
    """Why no scoring can be compared with `truth` (None when one can)."""
    if len(truth) < 2:
        return f"{len(truth)} model(s) scored: a ranking needs at least 2"
    accuracy = np.array(list(truth.values()), dtype=np.float64)
    if accuracy.max() <= 0:
        return "the best accuracy is 0: rel@k is undefined"
    if np.ptp(accuracy) == 0:
        return "every model has the same accuracy: no ranking to recover"
    return None


def agreement(scores: Mapping[str, float], truth: Mapping[str, float]) -> dict[str, float]:
    """tau_w, tau, pearson, top1_hit, top3_hit, rel1, rel3 of scores against accuracies,
    over the models present in both. Raises ValueError where `skip_reason` gives one."""
    reason = skip_reason(scores, truth)
    if reason is not None:
        raise ValueError(reason)
    models = sorted(set(scores) & set(truth))
    score = np.array([scores[m] for m in models], dtype=np.float64)
    accuracy = np.array([truth[m] for m in models], dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    best = accuracy.max()
    return {
        "tau_w": float(weightedtau(score, accuracy).statistic),
        "tau": float(kendalltau(score, accuracy).statistic),
        "pearson": float(pearsonr(score, accuracy).statistic),
        "top1_hit": float(accuracy[order[0]] == best),
        "top3_hit": float(best in accuracy[order[:3]]),
        "rel1": float(accuracy[order[0]] / best),
        "rel3": float(accuracy[order[:3]].max() / best),
    }


def random_agreement(truth: Mapping[str, float], seed: int = 0) -> dict[str, float]:
    """The mean agreement of RANDOM_DRAWS random scorings: the baseline every metric must beat."""
    rng = np.random.default_rng(seed)
    draws = [
        agreement(dict(zip(truth, rng.permutation(len(truth)), strict=True)), truth)
        for _ in range(RANDOM_DRAWS)
    ]
    return {key: float(np.mean([d[key] for d in draws])) for key in draws[0]}


def generalist_scores(truth: pl.DataFrame) -> pl.DataFrame:
    """The task-agnostic baseline (the analogue of ImageNet accuracy): each model's mean
    ground-truth accuracy over the other tasks, as rows task, model, metric, score."""
    totals = truth.group_by("model").agg(
        pl.col("accuracy").sum().alias("total"), pl.len().alias("tasks")
    )
    return (
        truth.join(totals, on="model")
        .with_columns(
            score=(pl.col("total") - pl.col("accuracy")) / (pl.col("tasks") - 1),
            metric=pl.lit("generalist"),
        )
        .select("task", "model", "metric", "score")
    )


def evaluate(scores: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per (task, metric) agreement of `scores` (task, model, metric, score) with `truth`
    (task, model, accuracy), plus a `random` row per task. A null score leaves its model out
    of that metric's ranking. A pair that cannot be compared keeps null measures and says why
    in `skipped` ("" otherwise)."""
    rows = []
    for (task,), task_truth in truth.group_by("task", maintain_order=True):
        accuracy = dict(task_truth.select("model", "accuracy").iter_rows())
        task_scores = scores.filter(pl.col("task") == task)
        for (metric,), part in task_scores.group_by("metric", maintain_order=True):
            scored = dict(part.drop_nulls("score").select("model", "score").iter_rows())
            reason = skip_reason(scored, accuracy)
            measured = {} if reason else agreement(scored, accuracy)
            rows.append({"task": task, "metric": metric, "skipped": reason or "", **measured})
        reason = truth_skip_reason(accuracy)
        measured = {} if reason else random_agreement(accuracy)
        rows.append({"task": task, "metric": "random", "skipped": reason or "", **measured})
    schema = {"task": pl.String, "metric": pl.String, "skipped": pl.String}
    return pl.DataFrame(rows, schema=schema | dict.fromkeys(MEASURES, pl.Float64))


def summarise(evaluation: pl.DataFrame) -> pl.DataFrame:
    """Mean of every agreement measure per metric over the tasks it was compared on, with
    how many it was compared on and how many were skipped; best mean tau_w first."""
    return (
        evaluation.group_by("metric")
        .agg(
            [pl.col(c).mean() for c in MEASURES]
            + [
                (pl.col("skipped") == "").sum().alias("tasks"),
                (pl.col("skipped") != "").sum().alias("skipped"),
            ]
        )
        .sort("tau_w", descending=True, nulls_last=True)
    )
