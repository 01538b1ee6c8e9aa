"""Answering "which models for these classes?" from a snapshot of the hub.

A `SelectionIndex` is built once per hub version (the label matrix of each model kind, the
embedded concept nodes, the accuracy predictor); answering a query then embeds only the class
names. Constraints are applied before ranking, and the answer carries its evidence and the
hub version it was computed from. The CLI and the registry service both call this.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from hubscout.hub import EmptyHubError, Hub, HubEntry
from hubscout.selection.accuracy import AccuracyModel
from hubscout.selection.matching import ConceptMatcher
from hubscout.selection.ranking import LabelMatrix, Selection, rank
from hubscout.selection.requirements import RequirementError, TaskSpec

SELECTABLE_KINDS = ("vlm", "classifier")


@dataclass(frozen=True)
class Constraints:
    """Filters applied before ranking."""

    kind: str = "vlm"
    max_params: int | None = None
    licenses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A selection, the predicted accuracy of each ranked model (when calibrated) and the hub
    version it was computed from."""

    selection: Selection
    predicted_accuracy: dict[str, float]
    hub_version: int
    kind: str

    def document(self, top: int | None = None) -> dict:
        """The answer as JSON-ready data: the ranking (its first `top` models), the evidence
        per class, what was not covered or excluded, and the hub version (the registry's
        /select schema)."""
        selection = self.selection
        return {
            "hub_version": self.hub_version,
            "kind": self.kind,
            "ranking": [
                {
                    "model": name,
                    "mean_r": selection.overall[name],
                    "predicted_accuracy": self.predicted_accuracy.get(name),
                    "label_version": selection.label_versions.get(name),
                }
                for name in selection.models[:top]
            ],
            "classes": [
                {
                    "class_name": match.class_name,
                    "covered": match.covered,
                    "nodes": [
                        {"node_id": node, "similarity": similarity, "weight": weight}
                        for node, similarity, weight in zip(
                            match.node_ids, match.similarities, match.weights, strict=True
                        )
                    ],
                    "top": [
                        {"model": model, "r": r}
                        for model, r in selection.per_class.get(match.class_name, [])
                    ],
                }
                for match in selection.matches
            ],
            "not_covered": selection.not_covered,
            "excluded": selection.excluded,
        }


@dataclass(frozen=True)
class SelectionIndex:
    """What answering a selection needs, precomputed from one hub snapshot."""

    hub_version: int
    models: dict[str, HubEntry]
    matrices: dict[str, LabelMatrix]  # kind -> label matrix of its ready, labeled models
    matcher: ConceptMatcher
    accuracy: AccuracyModel | None

    @classmethod
    def build(cls, hub: Hub, matcher: ConceptMatcher) -> "SelectionIndex":
        """Index the ready models of `hub` (the matcher, which depends only on the concept
        graph, is shared across hub versions)."""
        matrices = {}
        for kind in SELECTABLE_KINDS:
            names = [model.name for model in hub.ready(kind)]
            labels = hub.labels.filter(pl.col("model_id").is_in(names))
            if labels.height:
                matrices[kind] = LabelMatrix.from_labels(labels)
        coefficients = hub.accuracy_coefficients()
        return cls(
            hub.version,
            dict(hub.models),
            matrices,
            matcher,
            None if coefficients is None else AccuracyModel(coefficients),
        )


def select_models(
    spec: TaskSpec,
    index: SelectionIndex,
    k: int = 3,
    constraints: Constraints = Constraints(),
) -> Answer:
    """Rank the hub's ready, labeled models of `constraints.kind` for `spec`."""
    matrix = index.matrices.get(constraints.kind)
    if matrix is None:
        raise EmptyHubError(
            f"hub version {index.hub_version} has no labeled {constraints.kind}: register one "
            "and let it be labeled (or run `make demo`)"
        )
    excluded = {}
    for name in matrix.models:
        model = index.models[name]
        if constraints.max_params and (model.parameters or 0) > constraints.max_params:
            excluded[name] = f"{model.parameters} parameters > {constraints.max_params}"
        elif constraints.licenses and model.license not in constraints.licenses:
            excluded[name] = f"license {model.license}"
    if not set(matrix.models) - set(excluded):
        raise RequirementError(
            "no labeled model satisfies the constraints: relax them or label more models"
        )
    matches = index.matcher.match(spec)
    selection = rank(matrix, matches, k=k, excluded=excluded)
    return Answer(
        selection,
        _predicted_accuracy(selection, len(spec.class_names), index.accuracy),
        index.hub_version,
        constraints.kind,
    )


def _predicted_accuracy(
    selection: Selection, n_classes: int, model: AccuracyModel | None
) -> dict[str, float]:
    if model is None or selection.class_scores.is_empty():
        return {}
    mean_p = selection.class_scores.group_by("model", maintain_order=True).agg(pl.col("p").mean())
    names = mean_p["model"].to_list()
    values = model.predict(mean_p["p"].to_numpy().astype(np.float64), n_classes)
    return dict(zip(names, values.tolist(), strict=True))
