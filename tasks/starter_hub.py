"""Prefect tasks that train the starter hub on Ray, write its manifest and evaluate it."""

import json
from dataclasses import asdict
from pathlib import Path

import polars as pl
from prefect import task

from hubscout.cache import cache_key, read_json, source_digest, write_json_atomic
from hubscout.data import contact as contact_code
from hubscout.data import world as world_code
from hubscout.data.contact import contact_sheet
from hubscout.data.store import World
from hubscout.errors import ConfigError, SourceError
from hubscout.models import load_model
from hubscout.models.cards import ModelCard
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import DataLayout, Settings
from hubscout.starter import fidelity as fidelity_code
from hubscout.starter.build import (
    HubParams,
    Recipe,
    build_model,
    expected_seconds,
    longest_first,
    write_manifest,
)
from hubscout.starter.catalog import GeneratorRecipe
from hubscout.starter.evaluation import zero_shot_table
from hubscout.starter.fidelity import Fidelity, prompt_fidelity, train_judge
from tasks.progress import Steps, say
from tasks.ray_jobs import map_on_ray, ray_session

CONTACT_PROMPTS = (
    "a red circle",
    "a large blue striped square",
    "a small yellow star",
    "a green triangle",
    "letter k",
    "digit 7",
)


def _build_one(job: tuple[Recipe, Path, HubParams, Path]) -> tuple[ModelCard, float | None]:
    recipe, world_dir, params, hub = job
    card, trained = build_model(recipe, World(world_dir), params, hub)
    return card, None if trained is None else trained.seconds


@task(name="train-starter-models")
def train_starter_models(
    recipes: list[Recipe], world_dir: Path, params: HubParams, hub: Path, settings: Settings
) -> list[tuple[ModelCard, float | None]]:
    """Train every model (one CPU each, `parallel_jobs` at once, the longest first); saved
    ones are skipped. The manifest is rewritten as each model is saved, so that it can be
    registered (and served) while the others train.

    Returns each model's card and its training seconds (None when it was reused), in the
    order of `recipes`."""
    ordered = longest_first(recipes, params)
    jobs = [(recipe, world_dir, params, hub) for recipe in ordered]
    trained = _listed(hub, recipes)

    def publish_manifest(index: int, _: object) -> None:
        trained.add(ordered[index].name)
        write_manifest(
            hub, [recipe for recipe in recipes if recipe.name in trained], planned=recipes
        )

    with ray_session(settings, num_cpus=params.parallel_jobs):
        names, seconds = [s.name for s in ordered], [expected_seconds(s, params) for s in ordered]
        results = map_on_ray(
            _build_one, jobs, names, num_cpus=1, what="models ready", weights=seconds,
            on_result=publish_manifest,
        )  # fmt: skip
    by_name = {recipe.name: result for recipe, result in zip(ordered, results, strict=True)}
    return [by_name[recipe.name] for recipe in recipes]


def _listed(hub: Path, recipes: list[Recipe]) -> set[str]:
    """The models of `recipes` that the hub's manifest lists already (from an earlier run), so
    that a rewrite while they are checked again does not hide them from their readers."""
    try:
        entries = read_manifest(hub / "manifest.json").models
    except (SourceError, ConfigError):  # none yet, or one of an older format
        return set()
    names = {recipe.name for recipe in recipes}
    return {e.name for e in entries if e.name in names and (hub / e.checkpoint).is_file()}


@task(name="generator-contact-sheets")
def write_generator_contact_sheets(
    generator_names: list[str], layout: DataLayout, per_prompt: int = 8
) -> list[Path]:
    """One PNG per generator: a row of samples per contact prompt. A sheet is drawn again
    only when its key (the generator's content hash, the prompts, the drawing code) changed;
    the keys are kept in contact/sheets.json."""
    folder = layout.hub / "contact"
    keys_file = folder / "sheets.json"
    keys = read_json(keys_file) or {}
    paths = []
    with Steps("contact sheets", generator_names) as steps:
        for index, name in enumerate(generator_names):
            generator = load_model(f"starter:{name}", manifest=layout.hub_manifest)
            key = cache_key(
                generator.content_hash,
                str(per_prompt),
                source_digest(contact_code),
                *CONTACT_PROMPTS,
            )
            path = folder / f"{name}.png"
            if keys.get(name) != key or not path.is_file():
                images = generator.generate(list(CONTACT_PROMPTS), per_prompt, seed=0)
                folder.mkdir(exist_ok=True)
                contact_sheet(list(images), list(CONTACT_PROMPTS)).save(path)
                keys[name] = key
                write_json_atomic(keys_file, keys)
                steps.done(index, "drawn")
            else:
                steps.done(index, "unchanged")
            paths.append(path)
    return paths


def fidelity_key(
    recipes: list[GeneratorRecipe], content_hashes: list[str], params: HubParams
) -> str:
    """What the judge and the fidelities depend on: the generators (recipe and weights), the
    seed, the judge's steps and the code that renders, trains and reads."""
    identity = [json.dumps(asdict(recipe), sort_keys=True, default=str) for recipe in recipes]
    code = source_digest(fidelity_code, world_code)
    return cache_key(str(params.seed), str(params.judge_steps()), code, *identity, *content_hashes)


@task(name="generator-fidelity")
def measure_generator_fidelity(
    recipes: list[GeneratorRecipe], params: HubParams, cache_dir: Path, hub_manifest: Path
) -> dict[str, Fidelity]:
    """Each generator's fidelity to its prompts' symbols, read by one judge trained on real
    renders of every generator's style (hubscout.starter.fidelity); from the cache when
    nothing it depends on changed (fidelity_key)."""
    generators = [load_model(f"starter:{r.name}", manifest=hub_manifest) for r in recipes]
    entry = (
        cache_dir
        / "generator-fidelity"
        / f"{fidelity_key(recipes, [g.content_hash for g in generators], params)}.json"
    )
    stored = read_json(entry)
    if isinstance(stored, dict):
        say(f"generator fidelity: cached for these {len(recipes)} generators ({entry.name})")
        return {name: Fidelity(**values) for name, values in stored.items()}
    with Steps("judge trained", ["fidelity judge"]) as steps:
        judge = train_judge(recipes, params.seed, steps=params.judge_steps())
        steps.done(0)
    measured = {}
    with Steps("fidelities measured", [recipe.name for recipe in recipes]) as steps:
        for index, (recipe, generator) in enumerate(zip(recipes, generators, strict=True)):
            measured[recipe.name] = prompt_fidelity(generator, recipe, judge, params.seed)
            steps.done(index, f"{measured[recipe.name].samples:.3f}")
    write_json_atomic(entry, {name: asdict(f) for name, f in measured.items()})
    return measured


@task(name="zero-shot-summary")
def evaluate_vlms(vlm_names: list[str], world_dir: Path, settings: Settings) -> pl.DataFrame:
    """Zero-shot accuracy of every starter VLM on every task's test split (the features come
    from the feature cache when the models and images are unchanged)."""
    hub_manifest = settings.layout.hub_manifest
    models = {name: load_model(f"starter:{name}", manifest=hub_manifest) for name in vlm_names}
    with Steps("zero-shot tables", ["every VLM on every task"]) as steps:
        table = zero_shot_table(World(world_dir), models, settings.cache_dir)
        steps.done(0)
    return table
