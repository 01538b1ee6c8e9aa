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


def agreement(scores: Mapping[str, float], truth: Mapping[str, float]) -> dict[str, float]:
    """tau_w, tau, pearson, top1_hit, top3_hit, rel1, rel3 of scores against accuracies,
    over the models present in both."""
    models = sorted(set(scores) & set(truth))
    score = np.array([scores[m] for m in models], dtype=np.float64)
    accuracy = np.array([truth[m] for m in models], dtype=np.float64)
    order = np.argsort(-score, kind="stable")
    best = accuracy.max()
    constant = np.ptp(score) == 0
    return {
        "tau_w": 0.0 if constant else float(weightedtau(score, accuracy).statistic),
        "tau": 0.0 if constant else float(kendalltau(score, accuracy).statistic),
        "pearson": 0.0 if constant else float(pearsonr(score, accuracy).statistic),
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
    (task, model, accuracy), plus a `random` row per task."""
    rows = []
    for (task,), task_truth in truth.group_by("task", maintain_order=True):
        accuracy = dict(task_truth.select("model", "accuracy").iter_rows())
        task_scores = scores.filter(pl.col("task") == task)
        for (metric,), metric_scores in task_scores.group_by("metric", maintain_order=True):
            scored = dict(metric_scores.select("model", "score").iter_rows())
            rows.append({"task": task, "metric": metric, **agreement(scored, accuracy)})
        rows.append({"task": task, "metric": "random", **random_agreement(accuracy)})
    return pl.DataFrame(rows)


def summarise(evaluation: pl.DataFrame) -> pl.DataFrame:
    """Mean of every agreement measure per metric, best mean tau_w first."""
    measures = [c for c, dtype in evaluation.schema.items() if dtype.is_numeric()]
    return (
        evaluation.group_by("metric")
        .agg([pl.col(c).mean() for c in measures])
        .sort("tau_w", descending=True)
    )
