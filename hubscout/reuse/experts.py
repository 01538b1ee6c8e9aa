"""Reusing expert classifiers on a world task: combine heads that cover its classes (CHCO
spirit), with the best-ranked VLM as the fallback for classes no head covers."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.labeling.labels import ConceptProbes
from hubscout.labeling.store import card_of, class_alignment
from hubscout.models import ImageClassifier, load_model
from hubscout.reuse.ensemble import combine_heads, head_class_scores, heads_with_fallback_predict
from hubscout.reuse.world_tasks import task_probabilities
from hubscout.selection.answer import Constraints, SelectionIndex, select_models
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings
from hubscout.text import DEFAULT_TEXT_EMBEDDER


@dataclass(frozen=True)
class ExpertReuse:
    """What the head combination chose and how it did on the test split."""

    assignment: dict[str, list[str]]  # classifier -> the classes it answers
    fallback: str | None  # the VLM answering the remaining classes
    fallback_classes: list[str]
    accuracy: float
    fallback_accuracy: float  # the fallback VLM alone on every class


def reuse_experts(
    task: str, world: World, index: SelectionIndex, settings: Settings, budget: int = 3
) -> ExpertReuse:
    """Combine at most `budget` of the indexed hub's classifiers for a world task, falling
    back to its top VLM."""
    class_names = world.class_names(task)
    spec = TaskSpec(class_names=class_names)
    experts = select_models(spec, index, k=budget, constraints=Constraints(kind="classifier"))
    selection = experts.selection
    covered = [m for m in selection.matches if m.covered]
    class_index = {name: i for i, name in enumerate(class_names)}
    scores = selection.class_scores.filter(pl.col("p") > 0)
    head_scores: dict[str, dict[int, float]] = {}
    for model, class_name, p, _ in scores.iter_rows():
        head_scores.setdefault(model, {})[class_index[class_name]] = p
    assignment = combine_heads(head_scores, len(class_names), budget)

    probes = ConceptProbes.from_world(world)
    class_nodes: list[dict[str, float]] = [{} for _ in class_names]
    for match in covered:
        weights = class_nodes[class_index[match.class_name]]
        for node, weight in zip(match.node_ids, match.weights, strict=True):
            for below in {node} | probes.descendants.get(node, set()):
                weights[below] = weights.get(below, 0.0) + weight
    test = world.split(task, "test")
    head_votes = {}
    for name in assignment:
        source = index.models[name].source
        model = load_model(source, manifest=settings.layout.hub_manifest)
        assert isinstance(model, ImageClassifier)
        mapping = class_alignment(model, card_of(source, settings), world, DEFAULT_TEXT_EMBEDDER)
        head_nodes = [mapping.get(c) for c in model.source_classes]
        head_votes[name] = head_class_scores(
            model.predict_proba(test.images), head_nodes, class_nodes
        )

    vlm_ranking = select_models(spec, index, k=1).selection.models
    fallback = vlm_ranking[0] if vlm_ranking else None
    fallback_probabilities = None
    fallback_accuracy = 0.0
    if fallback:
        vlm = load_model(index.models[fallback].source, manifest=settings.layout.hub_manifest)
        probabilities, _ = task_probabilities(world, task, {fallback: vlm}, settings.cache_dir)
        fallback_probabilities = probabilities[fallback]
        fallback_accuracy = float(np.mean(fallback_probabilities.argmax(axis=1) == test.labels))
    predictions = heads_with_fallback_predict(
        head_votes, assignment, fallback_probabilities, len(class_names)
    )
    answered = set().union(*assignment.values()) if assignment else set()
    return ExpertReuse(
        assignment={m: [class_names[y] for y in sorted(c)] for m, c in assignment.items()},
        fallback=fallback,
        fallback_classes=[n for i, n in enumerate(class_names) if i not in answered],
        accuracy=float(np.mean(predictions == test.labels)),
        fallback_accuracy=fallback_accuracy,
    )
