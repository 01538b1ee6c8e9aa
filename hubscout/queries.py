"""Query-time answers over a hub snapshot, besides selection (hubscout.selection.answer):
ranking by transferability on a labeled dataset, and identification from example images.
Candidates always come from the `Hub` (its ready models); models load by their source URI.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hubscout.data.datasets import ImageDataset
from hubscout.errors import ConfigError
from hubscout.hub import EmptyHubError, Hub
from hubscout.identification.benchmark import OpenSetCalibration
from hubscout.identification.pmi import identify
from hubscout.identification.rkme import mixture, rank_by_mmd
from hubscout.models import load_model
from hubscout.models.base import VisionLanguageModel
from hubscout.transferability.hub import rank_models

NONE_OF_THE_HUB = "none of the hub's generators"
RANK_KINDS = {"vlm": ("vlm",), "classifier": ("classifier",), "all": ("vlm", "classifier")}
KIND_WORDS = {"vlm": "VLM", "classifier": "classifier", "all": "VLM or classifier"}


@dataclass(frozen=True)
class Identified:
    """One hub model and how well it fits the examples (higher is better for generators'
    log score; lower is better for RKME's MMD^2)."""

    model: str
    score: float
    evidence: str  # matched prompts (generators) or the mixture weight (RKME)


def rank_by_transferability(
    dataset: ImageDataset,
    hub: Hub,
    kind: str,
    metrics: list[str],
    cache_root: Path,
    leaf_names: list[str],
) -> pl.DataFrame:
    """Every ready model of `kind` (vlm, classifier or all) scored on a labeled dataset."""
    candidates = [model for k in RANK_KINDS[kind] for model in hub.ready(k)]
    if not candidates:
        raise EmptyHubError(
            f"hub version {hub.version} has no ready {KIND_WORDS[kind]} to rank: register one "
            "and let it be labeled"
        )
    models = {model.name: load_model(model.source) for model in candidates}
    return rank_models(dataset, models, cache_root, leaf_names, metrics)


def reference_encoder(hub: Hub) -> VisionLanguageModel:
    """The VLM the hub's specifications were embedded with."""
    if hub.reference_encoder is None:
        raise EmptyHubError(
            f"hub version {hub.version} has no published specifications to identify with"
        )
    model = load_model(hub.source_of(hub.reference_encoder))
    if not isinstance(model, VisionLanguageModel):
        raise ConfigError(f"the reference encoder {hub.reference_encoder} is not a VLM")
    return model


def identify_models(
    examples: np.ndarray, hub: Hub, kind: str, prompt: str | None = None
) -> list[Identified]:
    """The hub's generators (kind generator, PMI) or classifiers and VLMs (kind classifier,
    RKME) that fit uint8 example images [k, S, S, 3], best first."""
    encoder = reference_encoder(hub)
    embedded = encoder.encode_images(examples).astype(np.float64)
    if kind == "classifier":
        specs = hub.rkme_specs
        if not specs:
            raise EmptyHubError(f"hub version {hub.version} has no RKME specification")
        weights = mixture(embedded, specs)
        return [
            Identified(name, float(distance), f"mixture weight {weights[name]:.2f}")
            for name, distance in rank_by_mmd(embedded, specs)
        ]
    if not hub.generator_specs:
        raise EmptyHubError(f"hub version {hub.version} has no generator specification")
    text = None if prompt is None else encoder.encode_texts([prompt])[0].astype(np.float64)
    return [
        Identified(result.generator, float(result.score), "; ".join(result.matched_prompts))
        for result in identify(embedded, hub.generator_specs, text)
    ]


def open_set_answer(hub: Hub, ranking: list[Identified]) -> dict[str, Any] | None:
    """Whether a hub generator made the examples at all: P(from the hub) of the best
    generator's log score by the calibration the identification benchmark fitted on its
    tuning prompts (4 examples each), and the answer: that generator, or none of the hub's
    below one half. None when the hub holds no calibration or the ranking is empty."""
    summary = (hub.benchmarks.get("identification") or {}).get("summary") or {}
    calibration = (summary.get("open_set") or {}).get("calibration")
    if calibration is None or not ranking:
        return None
    best = ranking[0]
    fitted = OpenSetCalibration(calibration["slope"], calibration["intercept"])
    probability = float(fitted.probability(np.array([best.score]))[0])
    return {
        "p_from_hub": probability,
        "answer": best.model if probability >= 0.5 else NONE_OF_THE_HUB,
    }
