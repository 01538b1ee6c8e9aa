"""Query-time answers over a hub snapshot, besides selection (hubscout.selection.answer):
ranking by transferability on a labeled dataset, and identification from example images.
Candidates always come from the `Hub` (its ready models); models load by their source URI.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hubscout.data.datasets import ImageDataset
from hubscout.errors import ConfigError
from hubscout.hub import EmptyHubError, Hub, HubEntry
from hubscout.identification.benchmark import OpenSetCalibration
from hubscout.identification.pmi import PMI_DEFAULTS, PMIParameters, identify
from hubscout.identification.rkme import mixture, rank_by_mmd
from hubscout.identification.specs import describe_images
from hubscout.models import load_model
from hubscout.models.base import HubModel, VisionLanguageModel
from hubscout.transferability.hub import rank_models
from hubscout.tuning import OpenSetTuning, PmiTuning

NONE_OF_THE_HUB = "none of the hub's generators"
NONE_OF_THE_MODELS = "none of the hub's models"
RANK_KINDS = {"vlm": ("vlm",), "classifier": ("classifier",), "all": ("vlm", "classifier")}
KIND_WORDS = {"vlm": "VLM", "classifier": "classifier", "all": "VLM or classifier"}
Loader = Callable[[HubEntry], HubModel]


def registered_loader(hub_manifest: Path) -> Loader:
    """A loader of hub models by their source URIs, `starter:` ones through `hub_manifest` (a
    service passes a loader that keeps them loaded instead)."""
    return lambda model: load_model(model.source, manifest=hub_manifest)


@dataclass(frozen=True)
class Identified:
    """One hub model and how well it fits the examples (higher is better for generators'
    log score; lower is better for RKME's MMD^2)."""

    model: str
    score: float
    evidence: str  # matched prompts (generators) or the mixture weight (RKME)


def ranking_answer(
    dataset: ImageDataset,
    hub: Hub,
    kind: str,
    metrics: list[str],
    cache_root: Path,
    leaf_names: list[str],
    load: Loader,
    names: Sequence[str] = (),
    max_models: int | None = None,
) -> dict[str, Any]:
    """Every ready model of `kind` (vlm, classifier or all), or those of them called `names`,
    scored on a labeled dataset by each of `metrics`, best first by the first; at most
    `max_models` of them."""
    candidates = [model for k in RANK_KINDS[kind] for model in hub.ready(k)]
    if names:
        unknown = sorted(set(names) - {model.name for model in candidates})
        if unknown:
            raise EmptyHubError(
                f"hub version {hub.version} has no ready {KIND_WORDS[kind]} called "
                f"{', '.join(unknown)}"
            )
        candidates = [model for model in candidates if model.name in set(names)]
    if not candidates:
        raise EmptyHubError(
            f"hub version {hub.version} has no ready {KIND_WORDS[kind]} to rank: register one "
            "and let it be labeled"
        )
    if max_models is not None and len(candidates) > max_models:
        raise EmptyHubError(
            f"hub version {hub.version} has {len(candidates)} ready {KIND_WORDS[kind]}s, more "
            f"than the {max_models} one ranking may score: name at most {max_models} of them"
        )
    models = {model.name: load(model) for model in candidates}
    ranking = rank_models(dataset, models, cache_root, leaf_names, metrics)
    return {
        "hub_version": hub.version,
        "examples": len(dataset),
        "metrics": metrics,
        "ranking": [
            {
                "model": row["model"],
                "scores": {metric: row[metric] for metric in metrics},
                "saturated": [m for m in row["saturated"].split(",") if m],
            }
            for row in ranking.iter_rows(named=True)
        ],
    }


def hub_encoder(hub: Hub, kind: str, load: Loader) -> VisionLanguageModel:
    """The VLM the hub's specifications of `kind` (generator or rkme) were embedded with."""
    name = hub.reference_encoder if kind == "generator" else hub.rkme_encoder
    what = "generator" if kind == "generator" else "RKME"
    if name is None:
        raise EmptyHubError(
            f"hub version {hub.version} has no published {what} specifications to identify with"
        )
    model = load(hub.ready_model(name))
    if not isinstance(model, VisionLanguageModel):
        raise ConfigError(f"the {what} specifications' encoder {name} is not a VLM")
    return model


def identification_answer(
    examples: np.ndarray,
    hub: Hub,
    kind: str,
    load: Loader,
    prompt: str | None = None,
) -> dict[str, Any]:
    """What the hub answers for uint8 example images [k, S, S, 3]: its generators (kind
    generator, PMI) or classifiers and VLMs (kind classifier, RKME) best first, and whether
    one of them made the examples (`open_set_answer`), or was trained on data like them
    (`rkme_open_set_answer`), at all."""
    if kind == "classifier":
        ranking = _rkme_ranking(hub_encoder(hub, "rkme", load).encode_images(examples), hub)
        open_set = rkme_open_set_answer(hub, ranking[0].score, ranking[0].model)
    else:
        encoder = hub_encoder(hub, "generator", load)
        described = describe_images(encoder, examples, _style_weight(hub)).astype(np.float64)
        text = None if prompt is None else encoder.encode_texts([prompt])[0].astype(np.float64)
        ranking = [
            Identified(result.generator, float(result.score), "; ".join(result.matched_prompts))
            for result in identify(described, hub.generator_specs, text, pmi_parameters(hub))
        ]
        open_set = open_set_answer(hub, described, ranking[0].model)
    return {
        "hub_version": hub.version,
        "kind": kind,
        "score": "MMD^2, lower is better" if kind == "classifier" else "log score",
        "ranking": [vars(result) for result in ranking],
        "open_set": open_set,
    }


def _rkme_ranking(embedded: np.ndarray, hub: Hub) -> list[Identified]:
    specs = hub.rkme_specs
    if not specs:
        raise EmptyHubError(f"hub version {hub.version} has no RKME specification")
    weights = mixture(embedded, specs)
    return [
        Identified(name, float(distance), f"mixture weight {weights[name]:.2f}")
        for name, distance in rank_by_mmd(embedded, specs)
    ]


def _style_weight(hub: Hub) -> float:
    """The style weight every generator spec of the hub was described with."""
    if not hub.generator_specs:
        raise EmptyHubError(f"hub version {hub.version} has no generator specification")
    weights = sorted({spec.style_weight for spec in hub.generator_specs.values()})
    if len(weights) > 1:
        raise ConfigError(
            f"hub version {hub.version} holds generator specs of style weights {weights}: "
            "re-run the identification stage and publish the hub again"
        )
    return weights[0]


def pmi_parameters(hub: Hub) -> PMIParameters:
    """The PMI parameters the identification benchmark chose on its tuning prompts (the
    defaults for a hub that published none)."""
    tuned = hub.tuned.get("pmi")
    if not isinstance(tuned, PmiTuning):
        return PMI_DEFAULTS
    return PMIParameters(tuned.image_temperature, tuned.text_temperature, tuned.bandwidth)


def _calibration(hub: Hub, kind: str) -> OpenSetTuning | None:
    tuned = hub.tuned.get(kind)
    return tuned if isinstance(tuned, OpenSetTuning) else None


def open_set_answer(hub: Hub, described: np.ndarray, best: str) -> dict[str, Any] | None:
    """Whether a hub generator made the examples (unit descriptors [k, D]) at all: P(from
    the hub) of the best generator's log score at the open set's bandwidth, by the
    calibration the identification benchmark fitted on its tuning prompts (4 examples each),
    and the answer: `best`, or none of the hub's below one half. None when the hub holds no
    calibration."""
    calibration = _calibration(hub, "generator_open_set")
    if calibration is None:
        return None
    ranking = pmi_parameters(hub)
    parameters = replace(ranking, bandwidth=calibration.bandwidth or ranking.bandwidth)
    score = identify(described, hub.generator_specs, None, parameters)[0].score
    fitted = OpenSetCalibration(calibration.slope, calibration.intercept)
    probability = float(fitted.probability(np.array([score]))[0])
    return {
        "p_from_hub": probability,
        "answer": best if probability >= 0.5 else NONE_OF_THE_HUB,
    }


def rkme_open_set_answer(hub: Hub, smallest_mmd2: float, best: str) -> dict[str, Any] | None:
    """Whether a hub model was trained on data like the examples at all: P(from the hub) of
    minus the smallest MMD^2 to the hub's RKME specs, by the calibration the identification
    benchmark fitted on queries of 20 images (fewer examples give a larger MMD^2, so the
    answer leans to none), and the answer: `best`, or none of the hub's models below one
    half. None when the hub holds no calibration."""
    calibration = _calibration(hub, "rkme_open_set")
    if calibration is None:
        return None
    fitted = OpenSetCalibration(calibration.slope, calibration.intercept)
    probability = float(fitted.probability(np.array([-smallest_mmd2]))[0])
    return {
        "p_from_hub": probability,
        "answer": best if probability >= 0.5 else NONE_OF_THE_MODELS,
    }
