"""Answering "which models for these classes?" from the stored labels, cards and graph.

This is what the CLI (and later the registry service) calls: constraints are applied before
ranking, and the answer carries its evidence.
"""

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.labeling.store import read_labels
from hubscout.models.cards import read_card
from hubscout.models.starter_loader import manifest_path, read_manifest
from hubscout.selection.benchmark import AccuracyModel
from hubscout.selection.matching import match_task
from hubscout.selection.ranking import Selection, rank
from hubscout.selection.requirements import RequirementError, TaskSpec
from hubscout.settings import Settings
from hubscout.text import DEFAULT_TEXT_EMBEDDER, text_embedder


@dataclass(frozen=True)
class Constraints:
    """Filters applied before ranking."""

    kind: str = "vlm"
    max_params: int | None = None
    licenses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """A selection plus the predicted accuracy of each ranked model (when calibrated)."""

    selection: Selection
    predicted_accuracy: dict[str, float]


def select_models(
    spec: TaskSpec,
    settings: Settings,
    k: int = 3,
    constraints: Constraints = Constraints(),
    embedder_name: str = DEFAULT_TEXT_EMBEDDER,
) -> Answer:
    """Rank the labeled models of the hub for `spec`."""
    world = World(settings.data_dir / "world")
    hub = manifest_path(settings)
    of_kind = [entry for entry in read_manifest(hub).models if entry.kind == constraints.kind]
    labels = read_labels(settings).filter(pl.col("model_id").is_in([e.name for e in of_kind]))
    excluded: dict[str, str] = {}
    for entry in of_kind:
        card = read_card(hub.parent / entry.checkpoint)
        if constraints.max_params and card and (card.parameters or 0) > constraints.max_params:
            excluded[entry.name] = f"{card.parameters} parameters > {constraints.max_params}"
        elif constraints.licenses and card and card.license not in constraints.licenses:
            excluded[entry.name] = f"license {card.license}"
    labeled = set(labels["model_id"].unique()) - set(excluded)
    if not labeled:
        raise RequirementError(
            "no labeled model satisfies the constraints: relax them or label more models"
        )
    nodes = world.nodes
    matches = match_task(
        spec,
        nodes["node_id"].to_list(),
        nodes["name"].to_list(),
        nodes["description"].to_list(),
        text_embedder(embedder_name),
    )
    selection = rank(labels, matches, k=k, excluded=excluded)
    return Answer(selection, _predicted_accuracy(selection, len(spec.class_names), settings))


def _predicted_accuracy(
    selection: Selection, n_classes: int, settings: Settings
) -> dict[str, float]:
    path = settings.data_dir / "benchmarks" / "accuracy_model.json"
    if not path.is_file() or selection.class_scores.is_empty():
        return {}
    model = AccuracyModel(tuple(json.loads(path.read_text())))
    mean_p = selection.class_scores.group_by("model").agg(pl.col("p").mean())
    names = mean_p["model"].to_list()
    values = model.predict(mean_p["p"].to_numpy().astype(np.float64), n_classes)
    return dict(zip(names, values.tolist(), strict=True))
