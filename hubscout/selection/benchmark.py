"""How good text-only selection is on the starter hub (LOVM-style metrics).

The tasks are the world's named tasks and tasks drawn from the concept graph (`draw_tasks`),
whose classes are named with the alternative names; tuning tasks (named ones not held out,
drawn ones named with the tuning names) choose every constant, evaluation tasks (held out,
or named with the evaluation names) are only reported on. Ground truth is each VLM's real
zero-shot accuracy on a task's test images, prompted with the class names for a named task
and with the concept name each class really is for a drawn one (a tiny VLM's text tower does
not know "the colour of butter"; selection still reads only the names people typed). Per task:
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

from hubscout.data.datasets import ImageDataset
from hubscout.data.graph import build_graph
from hubscout.data.names import AlternativeName
from hubscout.data.store import World, render_task
from hubscout.data.tasks import TargetTask
from hubscout.features import extract_features
from hubscout.models.base import VisionLanguageModel
from hubscout.reuse.ensemble import ensemble_predict, softmax
from hubscout.reuse.world_tasks import selected_for_classes, task_probabilities
from hubscout.selection.accuracy import AccuracyModel
from hubscout.selection.matching import (
    MATCH_MARGIN,
    MATCH_THRESHOLD,
    THING_THRESHOLD,
    ClassMatch,
    match_task,
    match_texts,
)
from hubscout.selection.ranking import (
    DEFAULT_ALPHA,
    DEFAULT_METRIC,
    LabelMatrix,
    Selection,
    rank,
)
from hubscout.selection.requirements import TaskSpec
from hubscout.starter.evaluation import class_text_embeddings, zero_shot_scores
from hubscout.text import ConceptTexts, TextEmbedder

TOP = 5
# The grid the selection constants and the generalist baseline's label metric are tuned on.
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MARGINS = (0.05, 0.1, 0.2, 1.0)
LABEL_METRICS = ("acc_siblings", "f1_siblings", "informedness_siblings", "confidence")
# Selection ranks only by a label metric that a constant model cannot game, so its grid tunes
# alpha and margin for that one metric (docs/decisions.md, Selection).
SELECTION_METRICS = (DEFAULT_METRIC,)
# Resamples of the tasks for the 95% intervals; not tuned (docs/decisions.md, Selection).
BOOTSTRAP_RESAMPLES = 2000
# The grid the matching thresholds are tuned on (by coverage F1 on the tuning names).
THRESHOLDS = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


@dataclass(frozen=True)
class BenchmarkTask:
    """A target task as the benchmark sees it: the class names selection reads, the test
    labels and every VLM's class probabilities [N, C] on the test images."""

    name: str
    held_out: bool
    source: str  # "named" (a world task) or "drawn"
    class_names: list[str]
    labels: np.ndarray
    probabilities: dict[str, np.ndarray]

    def truth(self) -> dict[str, float]:
        """Each VLM's accuracy on the test images."""
        return {
            model: float(np.mean(p.argmax(axis=1) == self.labels))
            for model, p in self.probabilities.items()
        }


def named_tasks(
    world: World, models: dict[str, VisionLanguageModel], cache_root: Path
) -> list[BenchmarkTask]:
    """The world's named tasks, prompted with their class names."""
    tasks = []
    for task, held_out in world.tasks.select("task", "held_out").iter_rows():
        probabilities, labels = task_probabilities(world, task, models, cache_root)
        tasks.append(
            BenchmarkTask(task, held_out, "named", world.class_names(task), labels, probabilities)
        )
    return tasks


def drawn_tasks(
    tasks: list[TargetTask],
    models: dict[str, VisionLanguageModel],
    cache_root: Path,
    per_class: int,
    seed: int,
) -> list[BenchmarkTask]:
    """Drawn tasks with `per_class` rendered test images a class, prompted with the name of
    the concept node each class is; the images of all tasks are one cached dataset."""
    node_names = {node.node_id: node.name for node in build_graph()}
    rendered = [render_task(task, "test", per_class, seed) for task in tasks]
    dataset = ImageDataset("drawn-tasks", np.concatenate([images for images, _ in rendered]))
    ends = np.cumsum([len(labels) for _, labels in rendered])
    features = {
        name: np.split(
            extract_features(model, dataset, cache_root, show_progress=False).features, ends[:-1]
        )
        for name, model in models.items()
    }
    result = []
    for index, (task, (_, labels)) in enumerate(zip(tasks, rendered, strict=True)):
        prompts = [node_names[task_class.nodes[0]] for task_class in task.classes]
        probabilities = {
            name: softmax(
                zero_shot_scores(features[name][index], class_text_embeddings(model, prompts))
            )
            for name, model in models.items()
        }
        result.append(
            BenchmarkTask(
                task.name, task.held_out, "drawn", task.class_names(), labels, probabilities
            )
        )
    return result


@dataclass(frozen=True)
class TunedSelection:
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
    mean_accuracy = float(np.mean(list(truth.values())))
    generalist_pick = max(sorted(generalist), key=lambda m: generalist[m])
    ranks = {"R5": 0.0, "tau": 0.0}
    if selection.models:
        pick = selection.models[0]
        selected = selected_for_classes(selection, class_names)
        ensemble = ensemble_predict({m: probabilities[m] for m in selected}, selected)
        ensemble_accuracy = float(np.mean(ensemble == labels))
        best_selected = max(selected, key=lambda m: truth[m])
        ranks = ranking_metrics(selection.overall, truth)
        acc_pick, acc_best_selected = truth[pick], truth[best_selected]
    else:  # no class covered, nothing ranked: the user is left to pick at random
        pick, selected = None, {}
        ensemble_accuracy = acc_pick = acc_best_selected = mean_accuracy
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
        "rel1_selection": acc_pick / best,
        "rel1_generalist": truth[generalist_pick] / best,
        "rel1_random": mean_accuracy / best,
        "acc_ensemble": ensemble_accuracy,
        "acc_best_selected": acc_best_selected,
        "acc_pick": acc_pick,
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


def coverage(names: list[AlternativeName], matches: list[ClassMatch]) -> dict[str, float]:
    """Coverage precision: of the names matched to some node, the share whose best node is
    the one they mean (an unrelated name matched counts against it); recall: of the related
    names, the share matched with the node they mean first; and their F1."""
    hits = sum(
        bool(m.node_ids) and m.node_ids[0] == n.node_id for n, m in zip(names, matches, strict=True)
    )
    matched = sum(m.covered for m in matches)
    related = sum(n.node_id is not None for n in names)
    precision = hits / matched if matched else 0.0
    recall = hits / related if related else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "names": len(names)}


def tune_matching(
    names: list[AlternativeName], concepts: ConceptTexts, embedder: TextEmbedder
) -> pl.DataFrame:
    """Coverage of `names` (the tuning names) at every pair of thresholds (plain and thing),
    best F1 first; ties keep the grid order, the current defaults first."""
    texts = [n.name for n in names]
    rows = []
    grid = itertools.product(
        _defaults_first(THRESHOLDS, MATCH_THRESHOLD), _defaults_first(THRESHOLDS, THING_THRESHOLD)
    )
    for threshold, thing_threshold in grid:
        matches = match_texts(
            texts, concepts, embedder, threshold=threshold, thing_threshold=thing_threshold
        )
        rows.append(
            {"threshold": threshold, "thing_threshold": thing_threshold} | coverage(names, matches)
        )
    table = pl.DataFrame(rows).with_row_index("grid_order")
    return table.sort(["f1", "grid_order"], descending=[True, False])


def tune_selection(
    tasks: list[BenchmarkTask],
    labels: pl.DataFrame,
    concepts: ConceptTexts,
    embedder: TextEmbedder,
) -> pl.DataFrame:
    """Mean rel@1 and R5 over `tasks` (the tuning tasks) of every grid point: the selection's
    (alpha, margin) for its label metric as `method` "selection", and the generalist
    baseline's label metric as "generalist" (chosen among all LABEL_METRICS, a budget the
    baseline is given). Best first per method; ties keep the grid order, the current defaults
    first."""
    models = sorted(labels["model_id"].unique())
    truths = {t.name: t.truth() for t in tasks}
    task_truth = {name: {m: truth[m] for m in models} for name, truth in truths.items()}
    matches = {
        (t.name, margin): match_task(
            TaskSpec(class_names=t.class_names), concepts, embedder, margin=margin
        )
        for t in tasks
        for margin in MARGINS
    }
    matrices = {metric: LabelMatrix.from_labels(labels, metric) for metric in LABEL_METRICS}
    rows = []
    grid = itertools.product(
        SELECTION_METRICS,
        _defaults_first(ALPHAS, DEFAULT_ALPHA),
        _defaults_first(MARGINS, MATCH_MARGIN),
    )
    for metric, alpha, margin in grid:
        measured = [
            _pick_metrics(
                rank(matrices[metric], matches[(t.name, margin)], alpha=alpha).overall,
                task_truth[t.name],
            )
            for t in tasks
        ]
        rows.append(("selection", alpha, margin, metric, *np.mean(measured, axis=0)))
    for metric in _defaults_first(LABEL_METRICS, DEFAULT_METRIC):
        generalist = generalist_scores(labels, metric)
        measured = [_pick_metrics(generalist, task_truth[t.name]) for t in tasks]
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
    return ConceptTexts.from_nodes(world.nodes, embedder)


def _defaults_first(values: tuple, default: object) -> list:
    return [default, *(v for v in values if v != default)]


def _pick_metrics(scores: dict[str, float], truth: dict[str, float]) -> tuple[float, float]:
    """rel@1 of the top-scored model and R5 of the scores against the true accuracies; with
    no scores (nothing ranked) a random pick's expected rel@1 and R5 0."""
    best = max(truth.values())
    if not scores:
        return float(np.mean(list(truth.values()))) / best, 0.0
    pick = min(scores, key=lambda m: (-scores[m], m))
    return truth[pick] / best, ranking_metrics(scores, truth)["R5"]


def run_benchmark(
    tasks: list[BenchmarkTask],
    labels: pl.DataFrame,
    concepts: ConceptTexts,
    embedder: TextEmbedder,
    k: int = 1,
    parameters: TunedSelection = TunedSelection(),
    generalist_metric: str = DEFAULT_METRIC,
) -> tuple[pl.DataFrame, AccuracyModel]:
    """The per-task table with `parameters` (tuned on the tuning tasks by `tune_selection`),
    and the accuracy model fitted on the tuning tasks only. `labels` are those of the VLMs
    the tasks hold probabilities of."""
    models = sorted(tasks[0].probabilities)
    labels = labels.filter(pl.col("model_id").is_in(models))
    matrix = LabelMatrix.from_labels(labels, parameters.metric)
    selections = {
        t.name: rank(
            matrix,
            match_task(
                TaskSpec(class_names=t.class_names), concepts, embedder, margin=parameters.margin
            ),
            k=k,
            alpha=parameters.alpha,
        )
        for t in tasks
    }

    mean_p = {  # task -> model -> mean p over the covered classes
        name: dict(s.class_scores.group_by("model").agg(pl.col("p").mean()).iter_rows())
        for name, s in selections.items()
    }
    truths = {t.name: t.truth() for t in tasks}
    tuning = [(m, t) for t in tasks if not t.held_out for m in models]
    fitted = AccuracyModel.fit(
        np.array([mean_p[t.name].get(m, 0.0) for m, t in tuning]),
        np.array([len(t.class_names) for _, t in tuning], dtype=np.float64),
        np.array([truths[t.name][m] for m, t in tuning]),
    )
    generalist = generalist_scores(labels, generalist_metric)
    rows = []
    for task in tasks:
        p = mean_p[task.name]
        n_classes = len(task.class_names)
        predicted = {
            m: float(fitted.predict(np.array([p.get(m, 0.0)]), n_classes)[0]) for m in models
        }
        row = task_row(
            task.name,
            task.held_out,
            selections[task.name],
            truths[task.name],
            predicted,
            generalist,
            task.probabilities,
            task.labels,
            task.class_names,
        )
        rows.append({**row, "source": task.source})
    return pl.DataFrame(rows), fitted
