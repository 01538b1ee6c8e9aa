"""Identification specs on disk: generator specs (rebuilt only when their hashes change) and
RKME specs of the VLMs and classifiers (rebuilt with the stage)."""

import json

import numpy as np
import polars as pl
from prefect import task

from hubscout.data.store import World
from hubscout.identification.rkme import RKME, fit_rkme, median_gamma
from hubscout.identification.slices import slice_key, split_slice, training_indices
from hubscout.identification.specs import (
    GeneratorSpecification,
    build_spec,
    spec_version,
)
from hubscout.identification.store import identification_dir
from hubscout.models import load_model
from hubscout.models.base import VisionLanguageModel
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS
from hubscout.starter.evaluation import zero_shot_table


@task(name="reference-encoder-choice")
def reference_encoder_choice(
    world: World, vlm_names: list[str], settings: Settings
) -> pl.DataFrame:
    """model, accuracy: every VLM's mean zero-shot accuracy on the validation split of the
    tuning tasks (never a held-out task, never a test split), best first; the first row is
    the reference encoder unless params.yaml names one."""
    models = {name: load_model(f"starter:{name}") for name in vlm_names}
    table = zero_shot_table(world, models, settings.cache_dir, split="val")
    return (
        table.filter(~pl.col("held_out"))
        .group_by("model")
        .agg(pl.col("accuracy").mean())
        .sort(["accuracy", "model"], descending=[True, False])
    )


@task(name="generator-specs")
def generator_specs(
    generator_names: list[str],
    encoder: VisionLanguageModel,
    prompts: list[str],
    per_prompt: int,
    settings: Settings,
    seed: int = 0,
) -> dict[str, GeneratorSpecification]:
    """Every generator's spec, rebuilt only when its version (hashes) changed."""
    folder = identification_dir(settings) / "generators"
    specs = {}
    for name in generator_names:
        generator = load_model(f"starter:{name}")
        path = folder / f"{name}.spec.npz"
        version = spec_version(generator, encoder, prompts)
        if path.is_file() and GeneratorSpecification.load(path).version == version:
            specs[name] = GeneratorSpecification.load(path)
            continue
        specs[name] = build_spec(name, generator, encoder, prompts, per_prompt, seed)
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
