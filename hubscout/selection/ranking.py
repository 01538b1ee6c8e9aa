"""Ranking models for a matched task from their labels (Model Label Learning selection).

p(m, y) = sum over the nodes v matched to class y of z(v, y) * p(m, v), with p(m, v) a label
metric (f1_siblings by default) and z the matching weights; a model with no label row for a
node counts 0 there. The per-class score is

    r(m, y) = a * p(m, y) + (1 - a) * mean of p(m, y') over the other classes y'

(a = 0.7), the top-k models per class are selected, and the overall ranking is by the mean
of r over the covered classes.
"""

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from hubscout.selection.matching import ClassMatch

# Tuned on the 12 tuning tasks (selection benchmark grid, reports/selection.json "tuning"):
# f1_siblings labels gave rel@1 0.9515 against at most 0.9342 for acc_siblings; every alpha
# from 0.5 to 1.0 ties at 0.9515 there, and 0.7 is kept.
DEFAULT_ALPHA = 0.7
DEFAULT_METRIC = "f1_siblings"


@dataclass(frozen=True)
class Selection:
    """A ranked answer with its evidence."""

    models: list[str]  # overall ranking, best first
    overall: dict[str, float]  # model -> mean r over covered classes
    per_class: dict[str, list[tuple[str, float]]]  # class -> top-k (model, r)
    class_scores: pl.DataFrame  # model, class_name, p, r
    matches: list[ClassMatch]
    not_covered: list[str]
    label_versions: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)  # model -> why


def class_scores(
    labels: pl.DataFrame, matches: list[ClassMatch], metric: str = DEFAULT_METRIC
) -> np.ndarray:
    """p(m, y) for every model (rows, in sorted model order) and covered class (columns)."""
    models = sorted(labels["model_id"].unique())
    node_values = labels.filter(pl.col("metric") == metric).pivot(
        on="node_id", index="model_id", values="value", aggregate_function="first"
    )
    node_values = pl.DataFrame({"model_id": models}).join(node_values, on="model_id", how="left")
    columns = []
    for match in matches:
        if not match.covered:
            continue
        total = np.zeros(len(models))
        for node_id, weight in zip(match.node_ids, match.weights, strict=True):
            if node_id in node_values.columns:
                total += weight * node_values[node_id].fill_null(0.0).to_numpy()
        columns.append(total)
    return np.stack(columns, axis=1) if columns else np.zeros((len(models), 0))


def combine(p: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """r(m, y) = alpha * p(m, y) + (1 - alpha) * mean over the other classes of p(m, y')."""
    n_classes = p.shape[1]
    if n_classes == 1:
        return p.copy()
    others = (p.sum(axis=1, keepdims=True) - p) / (n_classes - 1)
    return alpha * p + (1 - alpha) * others


def rank(
    labels: pl.DataFrame,
    matches: list[ClassMatch],
    k: int = 3,
    alpha: float = DEFAULT_ALPHA,
    metric: str = DEFAULT_METRIC,
    excluded: dict[str, str] | None = None,
) -> Selection:
    """Select the top-k models per class and rank all of them."""
    excluded = dict(excluded or {})
    labels = labels.filter(~pl.col("model_id").is_in(list(excluded)))
    models = sorted(labels["model_id"].unique())
    covered = [m for m in matches if m.covered]
    p = class_scores(labels, matches, metric)
    r = combine(p, alpha)
    overall = dict(
        zip(models, r.mean(axis=1).tolist() if r.size else [0.0] * len(models), strict=True)
    )
    ranking = sorted(models, key=lambda m: (-overall[m], m))
    per_class = {}
    for j, match in enumerate(covered):
        order = sorted(range(len(models)), key=lambda i: (-r[i, j], models[i]))[:k]
        per_class[match.class_name] = [(models[i], float(r[i, j])) for i in order]
    rows = [
        (models[i], match.class_name, float(p[i, j]), float(r[i, j]))
        for j, match in enumerate(covered)
        for i in range(len(models))
    ]
    versions = dict(labels.select("model_id", "label_version").unique().iter_rows())
    return Selection(
        models=ranking,
        overall=overall,
        per_class=per_class,
        class_scores=pl.DataFrame(rows, schema=["model", "class_name", "p", "r"], orient="row"),
        matches=matches,
        not_covered=[m.class_name for m in matches if not m.covered],
        label_versions=versions,
        excluded=excluded,
    )
