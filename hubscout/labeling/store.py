"""Labeling one model and keeping its label on disk (`<data dir>/labels/<model id>.parquet`).

A stored label whose version (model hash, graph hash, labeling config) matches is returned as
it is, so labeling the hub after adding a model computes only the new model's label.
"""

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hubscout.data.datasets import ImageDataset
from hubscout.data.store import World
from hubscout.errors import SourceError
from hubscout.features import extract_features
from hubscout.hub import LABEL_COLUMNS, Hub, HubEntry
from hubscout.labeling.alignment import ALIGNMENT_THRESHOLD, align_classes
from hubscout.labeling.labels import (
    DEFAULT_NODE_TEMPLATE,
    ConceptProbes,
    classifier_label,
    finish_label,
    label_version,
    vlm_label,
)
from hubscout.models import ImageClassifier, VisionLanguageModel, load_model
from hubscout.models.cards import ModelCard, read_card
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings
from hubscout.text import DEFAULT_TEXT_EMBEDDER, text_embedder


@dataclass(frozen=True)
class LabelResult:
    """A model's label and whether it was computed now or read from the store."""

    model_id: str
    table: pl.DataFrame
    path: Path
    computed: bool


def model_id_of(source: str) -> str:
    """A file-safe id: the starter name, or the URI with unsafe characters replaced."""
    if source.startswith("starter:"):
        return source.removeprefix("starter:")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_")


def card_of(source: str, settings: Settings) -> ModelCard | None:
    """The model card of a source, when it has one."""
    if source.startswith("starter:"):
        name = source.removeprefix("starter:")
        path = settings.layout.hub_manifest
        entry = next((e for e in read_manifest(path).models if e.name == name), None)
        return read_card(path.parent / entry.checkpoint) if entry else None
    _, _, checkpoint = source.partition("@")
    return read_card(Path(checkpoint)) if checkpoint else None


def class_alignment(
    model: ImageClassifier, card: ModelCard | None, world: World, embedder_name: str
) -> dict[str, str | None]:
    """source class -> concept node: the card's mapping, else the text match."""
    nodes = world.nodes
    explicit = card.class_to_node if card else {}
    needs_text = any(c not in explicit for c in model.source_classes)
    return align_classes(
        model.source_classes,
        nodes["node_id"].to_list(),
        nodes["name"].to_list(),
        nodes["description"].to_list(),
        text_embedder(embedder_name) if needs_text else None,
        explicit=explicit,
    )


def label_model(
    source: str,
    world: World,
    settings: Settings,
    embedder_name: str = DEFAULT_TEXT_EMBEDDER,
    node_template: str = DEFAULT_NODE_TEMPLATE,
) -> LabelResult:
    """The label of the model at `source`, from the store or computed now.

    node_template: how a node's text is written for a VLM's text tower ({name}, {description}).
    """
    model = load_model(source, settings.resolved_device(), settings.layout.hub_manifest)
    probes = ConceptProbes.from_world(world, node_template)
    model_id = model_id_of(source)
    card = card_of(source, settings)
    if isinstance(model, VisionLanguageModel):
        config = json.dumps({"node_template": node_template})
    elif isinstance(model, ImageClassifier):
        explicit = card.class_to_node if card else {}
        config = json.dumps(
            {"embedder": embedder_name, "explicit": explicit, "alignment": ALIGNMENT_THRESHOLD},
            sort_keys=True,
        )
    else:
        raise SourceError(f"{source} is a {model.kind}; labels are for VLMs and classifiers")
    version = label_version(model.content_hash, probes.graph_hash, config)
    path = settings.layout.labels / f"{model_id}.parquet"
    if path.is_file():
        stored = pl.read_parquet(path)
        if stored.height and stored["label_version"][0] == version:
            return LabelResult(model_id, stored, path, computed=False)

    if isinstance(model, VisionLanguageModel):
        dataset = ImageDataset("concept-probes", probes.probe_images)
        features = extract_features(model, dataset, settings.cache_dir, show_progress=False)
        texts = model.encode_texts([probes.node_texts[n] for n in probes.node_ids])
        rows = vlm_label(features.features, texts, probes)
    else:
        mapping = class_alignment(model, card, world, embedder_name)
        probabilities = model.predict_proba(probes.probe_images)
        rows = classifier_label(probabilities, mapping, model.source_classes, probes)
    table = finish_label(rows, model_id, model.content_hash, probes.graph_hash, version)
    table = table.sort("node_id", "metric")  # the same bytes on every run
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    table.write_parquet(temporary)
    os.replace(temporary, path)
    return LabelResult(model_id, table, path, computed=True)


def read_labels(settings: Settings, model_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The stored labels of `model_ids` (default: every stored label), concatenated; only
    their files are read, however many other models the store holds."""
    folder = settings.layout.labels
    if model_ids is None:
        files = sorted(folder.glob("*.parquet"))
    else:
        files = [path for m in model_ids if (path := folder / f"{m}.parquet").is_file()]
    if not files:
        raise SourceError("no model is labeled yet: run `hubscout label <model>` or `make demo`")
    return pl.concat([pl.read_parquet(f) for f in files])


def starter_hub(hub_manifest: Path, labels: pl.DataFrame) -> Hub:
    """The starter hub's labeled models (those of `labels`, as label_starter_hub returns
    them) as a hub snapshot of their own, so that what users register in the registry never
    moves a benchmark."""
    entries = read_manifest(hub_manifest).models
    labels = labels.select(LABEL_COLUMNS)
    models = {
        e.name: HubEntry(e.name, f"starter:{e.name}", e.kind, "", "ready")
        for e in entries
        if e.name in set(labels["model_id"])
    }
    return Hub(
        version=0, models=models, labels=labels.filter(pl.col("model_id").is_in(list(models)))
    )
