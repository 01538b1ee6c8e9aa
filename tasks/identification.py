"""Identification's side effects: the generators' images (made once per generator and
prompt set, cached by the generator's hash, and described by every candidate reference
encoder), the choice of that encoder and of the style weight on the tuning prompts, the
choice of RKME's encoder on tuning queries, and the specs in the spec store (generator specs
and RKME specs of the VLMs and classifiers) that the per-model job then finds there."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from prefect import task

from hubscout.cache import ArrayCache, cache_key
from hubscout.data.store import World
from hubscout.identification.benchmark import rkme_encoder_score, tuning_top1
from hubscout.identification.descriptor import describe, style_embedding
from hubscout.identification.rkme import RKME, fit_rkme, median_gamma
from hubscout.identification.slices import (
    disjoint_models,
    slice_key,
    split_slice,
    training_indices,
)
from hubscout.identification.specs import GeneratorSpecification, spec_from_descriptors
from hubscout.identification.store import generator_spec_path, read_rkme, rkme_spec_path, write_rkme
from hubscout.models import load_model
from hubscout.models.base import Generator, VisionLanguageModel
from hubscout.params import IdentificationParams
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS
from tasks.progress import Steps

# Candidate weights of the style statistics in the descriptor (descriptor.py), chosen with the
# reference encoder on the tuning prompts (reports/identification.json "tuning")
STYLE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)

PromptSet = tuple[list[str], int, int]  # prompts, images per prompt, seed


@task(name="generate-identification-images")
def generate_images(
    generators: dict[str, Generator], prompt_sets: dict[str, PromptSet], settings: Settings
) -> dict[str, dict[str, np.ndarray]]:
    """set -> generator -> uint8 [P, n, H, W, 3]: every generator's images for each named
    prompt set, from the cache when this generator (by content hash) made them before."""
    cache = ArrayCache(settings.cache_dir, "identification-images")
    images: dict[str, dict[str, np.ndarray]] = {name: {} for name in prompt_sets}
    with Steps("generators' image sets", list(generators)) as steps:
        for index, (name, generator) in enumerate(generators.items()):
            made = 0
            for set_name, (prompts, per_prompt, seed) in prompt_sets.items():
                key = cache_key(generator.content_hash, str(per_prompt), str(seed), *prompts)
                stored = cache.get(key)
                if stored is None:
                    stored = {"images": generator.generate(prompts, per_prompt, seed)}
                    cache.put(key, stored)
                    made += 1
                images[set_name][name] = stored["images"]
            steps.done(index, f"{made} of {len(prompt_sets)} sets generated, the rest cached")
    return images


def embed(encoder: VisionLanguageModel, images: np.ndarray) -> np.ndarray:
    """Unit embeddings [P, n, D] of images [P, n, H, W, 3]."""
    flat = encoder.encode_images(images.reshape(-1, *images.shape[2:]))
    return flat.reshape(*images.shape[:2], -1)


def styles(images: np.ndarray) -> np.ndarray:
    """Unit style vectors [P, n, F] of images [P, n, H, W, 3]."""
    return style_embedding(images.reshape(-1, *images.shape[2:])).reshape(*images.shape[:2], -1)


@task(name="reference-choice")
def reference_choice(
    vlm_names: list[str],
    generator_hashes: dict[str, str],
    spec_prompts: list[str],
    spec_images: dict[str, np.ndarray],
    tuning_images: dict[str, np.ndarray],
    tuning_prompts: list[str],
    hub_manifest: Path,
    seed: int = 0,
) -> pl.DataFrame:
    """model, style_weight, top1, top1_with_prompt: PMI's mean top-1 over k on the tuning
    prompts (none in the spec or held-out sets), without and with the prompt, for every VLM
    as the reference encoder at every style weight, at the default PMI parameters. Best
    first by top-1, ties by top-1 with the prompt (at weight 1 the images' descriptors are
    the style statistics alone, and only the prompts' text embeddings tell encoders apart).
    The reference encoder is the first row's unless params.yaml names one; its style weight
    is its best row (RKME chooses an encoder of its own: rkme_encoder_choice)."""
    spec_styles = {g: styles(images) for g, images in spec_images.items()}
    tuning_styles = {g: styles(images) for g, images in tuning_images.items()}
    rows = []
    with Steps("reference encoders scored", vlm_names) as steps:
        for index, name in enumerate(vlm_names):
            encoder = load_model(f"starter:{name}", manifest=hub_manifest)
            spec_vlm = {g: embed(encoder, images) for g, images in spec_images.items()}
            tuning_vlm = {g: embed(encoder, images) for g, images in tuning_images.items()}
            texts = encoder.encode_texts(tuning_prompts).astype(np.float64)
            for weight in STYLE_WEIGHTS:
                specs = {
                    g: spec_from_descriptors(
                        g,
                        generator_hashes[g],
                        encoder,
                        spec_prompts,
                        describe(spec_vlm[g], spec_styles[g], weight),
                        weight,
                    )
                    for g in spec_images
                }
                tuning = {g: describe(tuning_vlm[g], tuning_styles[g], weight) for g in tuning_vlm}
                top1 = tuning_top1(specs, tuning, seed)
                with_prompt = tuning_top1(specs, tuning, seed, prompt_embeddings=texts)
                rows.append((name, weight, top1, with_prompt))
            steps.done(index)
    schema = ["model", "style_weight", "top1", "top1_with_prompt"]
    table = pl.DataFrame(rows, schema=schema, orient="row")
    return table.sort(
        ["top1", "top1_with_prompt", "model", "style_weight"],
        descending=[True, True, False, False],
    )


@task(name="generator-specs")
def generator_specs(
    encoder: VisionLanguageModel,
    style_weight: float,
    generator_hashes: dict[str, str],
    prompts: list[str],
    spec_descriptors: dict[str, np.ndarray],
    settings: Settings,
) -> dict[str, GeneratorSpecification]:
    """Every generator's spec from its images' descriptors for the spec prompts, saved in
    the spec store where the per-model job finds it."""
    specs = {}
    for name, descriptors in spec_descriptors.items():
        specs[name] = spec_from_descriptors(
            name, generator_hashes[name], encoder, prompts, descriptors, style_weight
        )
        specs[name].save(
            generator_spec_path(settings.layout.specs, name, specs[name].version).parent
        )
    return specs


def pool_gamma(encoder: VisionLanguageModel, world: World, seed: int = 0) -> float:
    """The RKME kernel bandwidth every spec of the hub shares: the median heuristic on the
    RKME encoder's embedding of 500 images drawn from the world's pool."""
    pool = world.pool_images
    rng = np.random.default_rng(seed)
    sample = pool[rng.choice(len(pool), size=min(500, len(pool)), replace=False)]
    return median_gamma(encoder.encode_images(sample))


@dataclass(frozen=True)
class RkmeParts:
    """The RKME side of identification in one encoder's space: every model's spec (sharing
    the kernel bandwidth `gamma`), its training slice's key, the models trained on none of
    each slice's images, and the embedded images of its slice that neither the spec nor
    each other hold: queries (reported) and tuning queries (the encoder is chosen on them)."""

    specs: dict[str, RKME]
    slices: dict[str, str]
    disjoint: dict[str, tuple[str, ...]]
    queries: dict[str, np.ndarray]
    tuning: dict[str, np.ndarray]
    gamma: float


def fit_rkme_parts(
    model_names: list[str],
    encoder: VisionLanguageModel,
    world: World,
    params: IdentificationParams,
    specs_dir: Path,
) -> RkmeParts:
    """RKME specs of the named VLMs and classifiers from `rkme_samples` images of their
    training slice, and their queries and tuning queries, embedded by `encoder`; each pool
    image is embedded once however many slices hold it. The specs are read from the spec
    store (`specs_dir`) where present, else fitted and stored there, as the per-model job
    stores a model's spec of the same images."""
    catalog = {spec.name: spec for spec in (*VLMS, *CLASSIFIERS)}
    seed = params.seed
    indices = {name: training_indices(catalog[name], world) for name in model_names}
    parts = {
        name: split_slice(
            indices[name],
            params.rkme_samples,
            params.rkme_queries,
            params.rkme_tuning_queries,
            seed,
        )
        for name in model_names
    }
    needed = np.unique(np.concatenate([np.concatenate(part) for part in parts.values()]))
    embedded = encoder.encode_images(world.pool_images[needed])

    def rows(part: np.ndarray) -> np.ndarray:
        return embedded[np.searchsorted(needed, part)]

    gamma = pool_gamma(encoder, world, seed)

    def spec(part: np.ndarray) -> RKME:
        images = world.pool_images[part]
        path = rkme_spec_path(
            specs_dir, encoder.content_hash, images, params.rkme_points, gamma, seed
        )
        stored = read_rkme(path, gamma)
        if stored is not None:
            return stored
        fitted = fit_rkme(rows(part), params.rkme_points, gamma, seed)
        write_rkme(path, fitted)
        return fitted

    return RkmeParts(
        specs={name: spec(part.spec) for name, part in parts.items()},
        slices={name: slice_key(indices[name]) for name in model_names},
        disjoint=disjoint_models(indices),
        queries={name: rows(part.queries) for name, part in parts.items()},
        tuning={name: rows(part.tuning) for name, part in parts.items()},
        gamma=gamma,
    )


@dataclass(frozen=True)
class RkmeChoice:
    """model, top1_slice, open_set_auroc, score per candidate encoder (best first), and the
    RKME side fitted in each candidate's space, so that the chosen one is not fitted again."""

    table: pl.DataFrame
    parts: dict[str, RkmeParts]


@task(name="rkme-encoder-choice")
def rkme_encoder_choice(
    vlm_names: list[str],
    model_names: list[str],
    world: World,
    params: IdentificationParams,
    hub_manifest: Path,
    specs_dir: Path,
) -> RkmeChoice:
    """RKME search of the tuning queries (in no spec and no reported query) with every VLM
    as the encoder, best score first, ties by name
    (hubscout.identification.benchmark.rkme_encoder_score)."""
    rows, parts = [], {}
    with Steps("RKME encoders scored", vlm_names) as steps:
        for index, name in enumerate(vlm_names):
            encoder = load_model(f"starter:{name}", manifest=hub_manifest)
            parts[name] = fit_rkme_parts(model_names, encoder, world, params, specs_dir)
            score = rkme_encoder_score(
                parts[name].specs,
                parts[name].slices,
                parts[name].tuning,
                parts[name].disjoint,
                params.seed,
            )
            rows.append({"model": name} | score)
            steps.done(index, f"score {score['score']:.3f}")
    table = pl.DataFrame(rows).sort(["score", "model"], descending=[True, False])
    return RkmeChoice(table, parts)
