"""Reuse on a task of the synthetic world: which classes each selected model votes for, and
every selected VLM's class probabilities on the task's test split."""

from pathlib import Path

import numpy as np

from hubscout.data.store import World
from hubscout.models.base import VisionLanguageModel
from hubscout.reuse.ensemble import softmax
from hubscout.selection.ranking import Selection
from hubscout.starter.evaluation import task_zero_shot_scores


def selected_for_classes(selection: Selection, class_names: list[str]) -> dict[str, set[int]]:
    """model -> indices of the classes it votes for: the classes it was selected for; classes
    that no concept covers fall back to the top-ranked model (the MLL-E fallback). With no
    class covered nothing is ranked, and no model votes."""
    index = {name: i for i, name in enumerate(class_names)}
    result: dict[str, set[int]] = {}
    for class_name, picks in selection.per_class.items():
        for model, _ in picks:
            result.setdefault(model, set()).add(index[class_name])
    uncovered = {index[name] for name in selection.not_covered}
    if uncovered and selection.models:
        result.setdefault(selection.models[0], set()).update(uncovered)
    return result


def task_probabilities(
    world: World, task: str, models: dict[str, VisionLanguageModel], cache_root: Path
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """p_m(y | x) = softmax(100 cos(image, class text)) of every VLM on the task's test split."""
    scores, labels = task_zero_shot_scores(world, task, models, cache_root)
    return {name: softmax(task_scores) for name, task_scores in scores.items()}, labels
