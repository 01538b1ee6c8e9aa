"""Ranking models for a matched task from their labels (Model Label Learning selection).

p(m, y) = sum over the nodes v matched to class y of z(v, y) * p(m, v), with p(m, v) a label
metric (informedness_siblings by default) and z the matching weights; a model with no label
row for a node counts 0 there. The per-class score is

    r(m, y) = a * p(m, y) + (1 - a) * mean of p(m, y') over the other classes y'

(a = 0.7), the top-k models per class are selected, and the overall ranking is by the mean
of r over the covered classes; when no class is covered, nothing is ranked.
"""

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from hubscout.selection.matching import ClassMatch

# informedness_siblings is the one label metric at chance for a model that answers the same
# sibling whatever it sees; alpha is tuned for it on the tuning tasks (docs/decisions.md).
DEFAULT_ALPHA = 0.7
DEFAULT_METRIC = "informedness_siblings"


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


@dataclass(frozen=True)
class LabelMatrix:
    """One label metric of every model on every node: values[m, v] = p(m, v), 0 where a
    model has no row for a node. Built once per hub version, so a query only indexes it."""

    models: tuple[str, ...]  # sorted
    node_index: dict[str, int]
    values: np.ndarray  # [models, nodes] float64
    label_versions: dict[str, str]

    @classmethod
    def from_labels(cls, labels: pl.DataFrame, metric: str = DEFAULT_METRIC) -> "LabelMatrix":
        """The matrix of `metric` from label rows (model_id, node_id, metric, value,
        label_version)."""
        models = tuple(sorted(labels["model_id"].unique()))
        rows = labels.filter(pl.col("metric") == metric)
        nodes = sorted(rows["node_id"].unique())
        node_index = {node: j for j, node in enumerate(nodes)}
        values = np.zeros((len(models), len(nodes)))
        model_index = {model: i for i, model in enumerate(models)}
        values[
            [model_index[m] for m in rows["model_id"]], [node_index[n] for n in rows["node_id"]]
        ] = rows["value"].cast(pl.Float64).to_numpy()
        versions = dict(labels.select("model_id", "label_version").unique().iter_rows())
        return cls(models, node_index, values, versions)

    def without(self, excluded: set[str] | dict[str, str]) -> "LabelMatrix":
        """The matrix without the `excluded` models (itself when none of them is in it)."""
        if not set(excluded) & set(self.models):
            return self
        keep = [i for i, model in enumerate(self.models) if model not in excluded]
        return LabelMatrix(
            tuple(self.models[i] for i in keep),
            self.node_index,
            self.values[keep],
            {m: v for m, v in self.label_versions.items() if m not in excluded},
        )


def class_scores(matrix: LabelMatrix, matches: list[ClassMatch]) -> np.ndarray:
    """p(m, y) for every model (rows, in the matrix's order) and covered class (columns)."""
    columns = []
    for match in matches:
        if not match.covered:
            continue
        total = np.zeros(len(matrix.models))
        for node_id, weight in zip(match.node_ids, match.weights, strict=True):
            if node_id in matrix.node_index:
                total += weight * matrix.values[:, matrix.node_index[node_id]]
        columns.append(total)
    return np.stack(columns, axis=1) if columns else np.zeros((len(matrix.models), 0))


def combine(p: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """r(m, y) = alpha * p(m, y) + (1 - alpha) * mean over the other classes of p(m, y')."""
    n_classes = p.shape[1]
    if n_classes == 1:
        return p.copy()
    others = (p.sum(axis=1, keepdims=True) - p) / (n_classes - 1)
    return alpha * p + (1 - alpha) * others


def rank(
    matrix: LabelMatrix,
    matches: list[ClassMatch],
    k: int = 3,
    alpha: float = DEFAULT_ALPHA,
    excluded: dict[str, str] | None = None,
) -> Selection:
    """Select the top-k models per class and rank all of them."""
    excluded = dict(excluded or {})
    matrix = matrix.without(excluded)
    models = list(matrix.models)
    covered = [m for m in matches if m.covered]
    p = class_scores(matrix, matches)
    r = combine(p, alpha)
    means = r.mean(axis=1) if covered else np.zeros(len(models))
    # with no class covered the labels say nothing about the task: nothing is ranked
    overall = dict(zip(models, means.tolist(), strict=True)) if covered else {}
    # best first; ties by name (the models are sorted, so by index)
    ranking = [models[i] for i in np.lexsort((np.arange(len(models)), -means))] if covered else []
    per_class = {}
    for j, match in enumerate(covered):
        order = np.lexsort((np.arange(len(models)), -r[:, j]))[:k]
        per_class[match.class_name] = [(models[i], float(r[i, j])) for i in order]
    n_models, n_classes = r.shape
    return Selection(
        models=ranking,
        overall=overall,
        per_class=per_class,
        class_scores=pl.DataFrame(
            {
                "model": np.repeat(np.array(models, dtype=object), n_classes).tolist(),
                "class_name": [m.class_name for m in covered] * n_models,
                "p": p.reshape(-1),
                "r": r.reshape(-1),
            },
            schema={"model": pl.String, "class_name": pl.String, "p": pl.Float64, "r": pl.Float64},
        ),
        matches=matches,
        not_covered=[m.class_name for m in matches if not m.covered],
        label_versions=matrix.label_versions,
        excluded=excluded,
    )
