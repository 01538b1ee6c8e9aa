"""How good text-only selection is on the starter hub (LOVM-style metrics).

Ground truth is each VLM's real zero-shot accuracy on a task's test split. Per task:
R5 (share of the true top-5 in the predicted top-5), Kendall tau within the true top-5, L1 of
the predicted accuracy, rel@1 (accuracy of the pick / accuracy of the best model) for the
selection, the generalist pick (best mean label) and a random pick (expected), and the
accuracy of the reuse ensemble against the best single selected model. `tune_selection`
chooses the selection's constants and the generalist's label metric on the tuning tasks.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import kendalltau

from hubscout.data.store import World
from hubscout.models.base import VisionLanguageModel
from hubscout.reuse.ensemble import ensemble_predict
from hubscout.reuse.world_tasks import selected_for_classes, task_probabilities
from hubscout.selection.accuracy import AccuracyModel
from hubscout.selection.matching import MATCH_MARGIN, match_task
from hubscout.selection.ranking import (
    DEFAULT_ALPHA,
    DEFAULT_METRIC,
    LabelMatrix,
    Selection,
    rank,
)
from hubscout.selection.requirements import TaskSpec
from hubscout.text import ConceptTexts, TextEmbedder

TOP = 5
# The grid the selection constants and the generalist baseline's label metric are tuned on.
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MARGINS = (0.05, 0.1, 0.2, 1.0)
LABEL_METRICS = ("acc_siblings", "f1_siblings", "informedness_siblings", "confidence")
# Not tuned: resamples of the tasks for the 95% intervals; on the 5 held-out tasks 2,000
# put every interval end of reports/selection.json within 0.005 of those of 20,000.
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class SelectionParameters:
    """The constants of text-only selection that the benchmark tunes."""

    alpha: float = DEFAULT_ALPHA
    margin: float = MATCH_MARGIN
    metric: str = DEFAULT_METRIC


def generalist_scores(labels: pl.DataFrame, metric: str = DEFAULT_METRIC) -> dict[str, float]:
    """Mean label value of each model over every node: the analogue of ImageNet accuracy."""
    means = (
        labels.filter(pl.col("metric") == metric).group_by("model_id").agg(pl.col("value").mean())
    )
    return dict(means.iter_rows())


def ranking_metrics(
    predicted: dict[str, float], truth: dict[str, float], top: int = TOP
) -> dict[str, float]:
    """R5 and Kendall tau within the true top-5."""
    true_top = sorted(truth, key=lambda m: (-truth[m], m))[:top]
    predicted_top = sorted(predicted, key=lambda m: (-predicted[m], m))[:top]
    tau = kendalltau([truth[m] for m in true_top], [predicted[m] for m in true_top]).statistic
    return {
        "R5": len(set(true_top) & set(predicted_top)) / len(true_top),
        "tau": float(0.0 if np.isnan(tau) else tau),
    }


def task_row(
    task: str,
    held_out: bool,
    selection: Selection,
    truth: dict[str, float],
    predicted_accuracy: dict[str, float],
    generalist: dict[str, float],
    probabilities: dict[str, np.ndarray],
    labels: np.ndarray,
    class_names: list[str],
) -> dict:
    """Every metric of one task."""
    best = max(truth.values())
    pick = selection.models[0]
    generalist_pick = max(sorted(generalist), key=lambda m: generalist[m])
    selected = selected_for_classes(selection, class_names)
    uncovered = (
        set(range(len(class_names))) - set().union(*selected.values()) if selected else set()
    )
    if uncovered:  # classes nobody was selected for fall back to the overall pick
        selected.setdefault(pick, set()).update(uncovered)
    ensemble = ensemble_predict({m: probabilities[m] for m in selected}, selected)
    ensemble_accuracy = float(np.mean(ensemble == labels))
    best_selected = max(selected, key=lambda m: truth[m])
    ranks = ranking_metrics(selection.overall, truth)
    return {
        "task": task,
        "held_out": held_out,
        "n_classes": len(class_names),
        "not_covered": len(selection.not_covered),
        "pick": pick,
        "best_model": max(sorted(truth), key=lambda m: truth[m]),
        "R5": ranks["R5"],
        "tau": ranks["tau"],
        "L1": float(np.mean([abs(predicted_accuracy[m] - truth[m]) for m in truth])),
        "rel1_selection": truth[pick] / best,
        "rel1_generalist": truth[generalist_pick] / best,
        "rel1_random": float(np.mean(list(truth.values()))) / best,
        "acc_ensemble": ensemble_accuracy,
        "acc_best_selected": truth[best_selected],
        "acc_pick": truth[pick],
        "acc_best": best,
        "ensemble_size": len(selected),
    }


def summarise(table: pl.DataFrame) -> pl.DataFrame:
    """Mean of every metric over held-out tasks and over tuning tasks."""
    numeric = [c for c, t in table.schema.items() if t.is_numeric() and c != "n_classes"]
    return (
        table.group_by("held_out")
        .agg([pl.col(c).mean() for c in numeric])
        .sort("held_out", descending=True)
    )


def bootstrap_intervals(
    columns: dict[str, np.ndarray], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """The 95% percentile-bootstrap interval of each column's mean over tasks, every column
    resampled with the same task draws (so an interval of a paired difference is one of
    the columns)."""
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError("bootstrap needs columns of one non-zero length (one value per task)")
    tasks = lengths.pop()
    draws = np.random.default_rng(seed).integers(0, tasks, size=(resamples, tasks))
    intervals = {}
    for name, values in columns.items():
        means = np.asarray(values, dtype=np.float64)[draws].mean(axis=1)
        low, high = np.quantile(means, [0.025, 0.975])
        intervals[name] = (float(low), float(high))
    return intervals


def tune_selection(
    world: World,
    labels: pl.DataFrame,
    truth: pl.DataFrame,
    embedder: TextEmbedder,
    tasks: list[str],
) -> pl.DataFrame:
    """Mean rel@1 and R5 over `tasks` (the tuning tasks) of every grid point: the selection's
    (alpha, margin, metric) as `method` "selection", and the generalist baseline's label
    metric as "generalist" (the same budget of label metrics). Best first per method; ties
    keep the grid order, the current defaults first."""
    concepts = concept_texts(world, embedder)
    accuracy = {(m, t): a for m, t, a in truth.select("model", "task", "accuracy").iter_rows()}
    models = sorted(labels["model_id"].unique())
    task_truth = {t: {m: accuracy[(m, t)] for m in models} for t in tasks}
    matches = {
        (t, margin): match_task(
            TaskSpec(class_names=world.class_names(t)), concepts, embedder, margin=margin
        )
        for t in tasks
        for margin in MARGINS
    }
    matrices = {metric: LabelMatrix.from_labels(labels, metric) for metric in LABEL_METRICS}
    rows = []
    grid = itertools.product(
        _defaults_first(LABEL_METRICS, DEFAULT_METRIC),
        _defaults_first(ALPHAS, DEFAULT_ALPHA),
        _defaults_first(MARGINS, MATCH_MARGIN),
    )
    for metric, alpha, margin in grid:
        selections = {t: rank(matrices[metric], matches[(t, margin)], alpha=alpha) for t in tasks}
        measured = [_pick_metrics(selections[t].overall, task_truth[t]) for t in tasks]
        rows.append(("selection", alpha, margin, metric, *np.mean(measured, axis=0)))
    for metric in _defaults_first(LABEL_METRICS, DEFAULT_METRIC):
        generalist = generalist_scores(labels, metric)
        measured = [_pick_metrics(generalist, task_truth[t]) for t in tasks]
        rows.append(("generalist", None, None, metric, *np.mean(measured, axis=0)))
    schema = {
        "method": pl.String,
        "alpha": pl.Float64,
        "margin": pl.Float64,
        "metric": pl.String,
        "rel1": pl.Float64,
        "R5": pl.Float64,
    }
    table = pl.DataFrame(rows, schema=schema, orient="row").with_row_index("grid_order")
    return table.sort(["method", "rel1", "R5", "grid_order"], descending=[False, True, True, False])


def concept_texts(world: World, embedder: TextEmbedder) -> ConceptTexts:
    """The world's concept nodes embedded for matching."""
    nodes = world.nodes
    return ConceptTexts.embed(
        nodes["node_id"].to_list(),
        nodes["name"].to_list(),
        nodes["description"].to_list(),
        embedder,
    )


def _defaults_first(values: tuple, default: object) -> list:
    return [default, *(v for v in values if v != default)]


def _pick_metrics(scores: dict[str, float], truth: dict[str, float]) -> tuple[float, float]:
    """rel@1 of the top-scored model and R5 of the scores against the true accuracies."""
    pick = min(scores, key=lambda m: (-scores[m], m))
    return truth[pick] / max(truth.values()), ranking_metrics(scores, truth)["R5"]


def run_benchmark(
    world: World,
    labels: pl.DataFrame,
    models: dict[str, VisionLanguageModel],
    truth: pl.DataFrame,
    embedder: TextEmbedder,
    cache_root: Path,
    k: int = 1,
    parameters: SelectionParameters = SelectionParameters(),
    generalist_metric: str = DEFAULT_METRIC,
) -> tuple[pl.DataFrame, AccuracyModel]:
    """The per-task table with `parameters` (tuned on the tuning tasks by `tune_selection`),
    and the accuracy model fitted on the tuning tasks only."""
    labels = labels.filter(pl.col("model_id").is_in(list(models)))
    concepts = concept_texts(world, embedder)
    matrix = LabelMatrix.from_labels(labels, parameters.metric)
    selections = {}
    for task in world.tasks["task"]:
        spec = TaskSpec(class_names=world.class_names(task))
        matches = match_task(spec, concepts, embedder, margin=parameters.margin)
        selections[task] = rank(matrix, matches, k=k, alpha=parameters.alpha)
    accuracy = {(m, t): a for m, t, a in truth.select("model", "task", "accuracy").iter_rows()}
    held_out = dict(world.tasks.select("task", "held_out").iter_rows())
    n_classes = dict(world.tasks.select("task", "n_classes").iter_rows())

    def mean_p(task: str) -> dict[str, float]:
        scores = selections[task].class_scores
        return dict(scores.group_by("model").agg(pl.col("p").mean()).iter_rows())

    tuning = [(m, t) for t in selections if not held_out[t] for m in models]
    fitted = AccuracyModel.fit(
        np.array([mean_p(t).get(m, 0.0) for m, t in tuning]),
        np.array([n_classes[t] for _, t in tuning], dtype=np.float64),
        np.array([accuracy[(m, t)] for m, t in tuning]),
    )
    generalist = generalist_scores(labels, generalist_metric)
    rows = []
    for task, selection in selections.items():
        p = mean_p(task)
        predicted = {
            m: float(fitted.predict(np.array([p.get(m, 0.0)]), n_classes[task])[0]) for m in models
        }
        probabilities, test_labels = task_probabilities(world, task, models, cache_root)
        rows.append(
            task_row(
                task,
                held_out[task],
                selection,
                {m: accuracy[(m, task)] for m in models},
                predicted,
                generalist,
                probabilities,
                test_labels,
                world.class_names(task),
            )
        )
    return pl.DataFrame(rows), fitted
