"""Identification's side effects: the generators' images (made once, embedded by every
candidate reference encoder), the choice of that encoder on the tuning prompts, and the
specs on disk (generator specs and RKME specs of the VLMs and classifiers)."""

import json

import numpy as np
import polars as pl
from prefect import task

from hubscout.data.store import World
from hubscout.identification.benchmark import tuning_top1
from hubscout.identification.rkme import RKME, fit_rkme, median_gamma
from hubscout.identification.slices import slice_key, split_slice, training_indices
from hubscout.identification.specs import GeneratorSpecification, spec_from_images
from hubscout.identification.store import identification_dir
from hubscout.models import load_model
from hubscout.models.base import VisionLanguageModel
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS


@task(name="generate-identification-images")
def generate_images(
    generator_names: list[str], prompt_sets: dict[str, tuple[list[str], int, int]]
) -> dict[str, dict[str, np.ndarray]]:
    """set -> generator -> uint8 [P, n, H, W, 3]: every generator's images for each named
    prompt set (prompts, images per prompt, seed), generated once for every candidate
    encoder."""
    images: dict[str, dict[str, np.ndarray]] = {name: {} for name in prompt_sets}
    for generator_name in generator_names:
        generator = load_model(f"starter:{generator_name}")
        for set_name, (prompts, per_prompt, seed) in prompt_sets.items():
            images[set_name][generator_name] = generator.generate(prompts, per_prompt, seed)
        print(f"generated the identification images of {generator_name}")
    return images


def embed(encoder: VisionLanguageModel, images: np.ndarray) -> np.ndarray:
    """Unit embeddings [P, n, D] of images [P, n, H, W, 3]."""
    flat = encoder.encode_images(images.reshape(-1, *images.shape[2:]))
    return flat.reshape(*images.shape[:2], -1)


@task(name="reference-encoder-choice")
def reference_encoder_choice(
    vlm_names: list[str],
    spec_prompts: list[str],
    spec_images: dict[str, np.ndarray],
    tuning_images: dict[str, np.ndarray],
    seed: int = 0,
) -> pl.DataFrame:
    """model, top1: PMI's mean top-1 over k on the tuning prompts (none in the spec or
    held-out sets) with every VLM as the reference encoder, at the default parameters;
    best first. The first row is the reference encoder unless params.yaml names one."""
    rows = []
    for name in vlm_names:
        encoder = load_model(f"starter:{name}")
        specs = {
            g: spec_from_images(g, load_model(f"starter:{g}"), encoder, spec_prompts, images)
            for g, images in spec_images.items()
        }
        tuning = {g: embed(encoder, images) for g, images in tuning_images.items()}
        rows.append((name, tuning_top1(specs, tuning, seed)))
    table = pl.DataFrame(rows, schema=["model", "top1"], orient="row")
    return table.sort(["top1", "model"], descending=[True, False])


@task(name="generator-specs")
def generator_specs(
    encoder: VisionLanguageModel,
    prompts: list[str],
    spec_images: dict[str, np.ndarray],
    settings: Settings,
) -> dict[str, GeneratorSpecification]:
    """Every generator's spec from its images for the spec prompts, saved."""
    folder = identification_dir(settings) / "generators"
    specs = {}
    for name, images in spec_images.items():
        specs[name] = spec_from_images(
            name, load_model(f"starter:{name}"), encoder, prompts, images
        )
        specs[name].save(folder)
    return specs


def pool_gamma(encoder: VisionLanguageModel, world: World, seed: int = 0) -> float:
    """The RKME kernel bandwidth every spec of the hub shares: the median heuristic on the
    reference encoder's embedding of 500 images drawn from the world's pool."""
    pool = world.pool_images
    rng = np.random.default_rng(seed)
    sample = pool[rng.choice(len(pool), size=min(500, len(pool)), replace=False)]
    return median_gamma(encoder.encode_images(sample))


@task(name="rkme-specs")
def rkme_specs(
    model_names: list[str],
    encoder: VisionLanguageModel,
    world: World,
    points: int,
    samples: int,
    held_out: int,
    settings: Settings,
    seed: int = 0,
) -> tuple[dict[str, RKME], dict[str, str], dict[str, np.ndarray]]:
    """RKME specs of the named VLMs and classifiers from `samples` images of their training
    slice, their slice keys, and `held_out` other images of each slice embedded (queries)."""
    catalog = {spec.name: spec for spec in (*VLMS, *CLASSIFIERS)}
    folder = identification_dir(settings) / "rkme"
    folder.mkdir(parents=True, exist_ok=True)
    pool = world.pool_images
    gamma = pool_gamma(encoder, world, seed)
    specs, slices, queries = {}, {}, {}
    for name in model_names:
        indices = training_indices(catalog[name], world)
        spec_part, query_part = split_slice(indices, samples, held_out, seed)
        specs[name] = fit_rkme(encoder.encode_images(pool[spec_part]), points, gamma, seed)
        slices[name] = slice_key(indices)
        queries[name] = encoder.encode_images(pool[query_part])
        np.savez(
            folder / f"{name}.rkme.npz",
            points=specs[name].points,
            weights=specs[name].weights,
            gamma=np.array(gamma),
        )
    (folder / "slices.json").write_text(json.dumps(slices, indent=1) + "\n")
    return specs, slices, queries
