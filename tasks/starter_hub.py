"""Prefect tasks that train the starter hub on Ray, write its manifest and evaluate it."""

from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.contact import contact_sheet
from hubscout.data.store import World
from hubscout.models import load_model
from hubscout.models.cards import ModelCard
from hubscout.settings import Settings
from hubscout.starter.build import HubParams, Spec, build_model, longest_first
from hubscout.starter.catalog import GeneratorSpec
from hubscout.starter.evaluation import zero_shot_table
from hubscout.starter.fidelity import Fidelity, prompt_fidelity, train_judge
from tasks.ray_jobs import map_on_ray, ray_session

CONTACT_PROMPTS = (
    "a red circle",
    "a large blue striped square",
    "a small yellow star",
    "a green triangle",
    "letter k",
    "digit 7",
)


def _build_one(job: tuple[Spec, Path, HubParams, Path]) -> tuple[ModelCard, float | None]:
    spec, world_dir, params, hub = job
    card, trained = build_model(spec, World(world_dir), params, hub)
    return card, None if trained is None else trained.seconds


@task(name="train-starter-models")
def train_starter_models(
    specs: list[Spec], world_dir: Path, params: HubParams, hub: Path, settings: Settings
) -> list[tuple[ModelCard, float | None]]:
    """Train every model (one CPU each, `parallel_jobs` at once, the longest first); saved
    ones are skipped.

    Returns each model's card and its training seconds (None when it was reused), in the
    order of `specs`."""
    ordered = longest_first(specs, params)
    jobs = [(spec, world_dir, params, hub) for spec in ordered]
    with ray_session(settings, num_cpus=params.parallel_jobs):
        results = map_on_ray(_build_one, jobs, [s.name for s in ordered], num_cpus=1)
    by_name = {spec.name: result for spec, result in zip(ordered, results, strict=True)}
    return [by_name[spec.name] for spec in specs]


@task(name="generator-contact-sheets")
def write_generator_contact_sheets(
    generator_names: list[str], hub: Path, per_prompt: int = 8
) -> list[Path]:
    """One PNG per generator: a row of samples per contact prompt."""
    folder = hub / "contact"
    folder.mkdir(exist_ok=True)
    paths = []
    for name in generator_names:
        generator = load_model(f"starter:{name}")
        images = generator.generate(list(CONTACT_PROMPTS), per_prompt, seed=0)
        path = folder / f"{name}.png"
        contact_sheet(list(images), list(CONTACT_PROMPTS)).save(path)
        paths.append(path)
    return paths


@task(name="generator-fidelity")
def measure_generator_fidelity(
    specs: list[GeneratorSpec], params: HubParams
) -> dict[str, Fidelity]:
    """Each generator's fidelity to its prompts' symbols, read by one judge trained on real
    renders of every generator's style (hubscout.starter.fidelity)."""
    judge = train_judge(specs, params.seed, steps=params.judge_steps())
    return {
        spec.name: prompt_fidelity(load_model(f"starter:{spec.name}"), spec, judge, params.seed)
        for spec in specs
    }


@task(name="zero-shot-summary")
def evaluate_vlms(vlm_names: list[str], world_dir: Path, settings: Settings) -> pl.DataFrame:
    """Zero-shot accuracy of every starter VLM on every task's test split."""
    models = {name: load_model(f"starter:{name}") for name in vlm_names}
    return zero_shot_table(World(world_dir), models, settings.cache_dir)
