"""The Ray job of a model registered in the registry, one per model: label it (VLMs and
classifiers), build its specification (a generator's identification spec; a VLM's or
classifier's RKME spec of its training data) and measure it on the transferability
benchmark's tasks. A model that fails, fails alone, with its reason.

Every step's result is cached by what determines it (labels in the label store; RKME specs,
generator specs and transferability rows by the model's
content hash, the data's hash and the method version), so a model processed again computes
only what it had not finished, and a night with nothing new computes nothing. Specs are kept
in the spec store (hubscout.identification.store), where the identification stage leaves the
ones it fitted in the encoders it chose: a starter model's spec is found there, not rebuilt.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from prefect import task

from hubscout.cache import cache_key, read_json, write_json_atomic
from hubscout.data.datasets import load_image_dataset
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.identification.rkme import fit_rkme
from hubscout.identification.slices import split_slice, training_indices
from hubscout.identification.specs import (
    GeneratorSpecification,
    build_spec,
    spec_version,
    world_prompts,
)
from hubscout.identification.store import (
    generator_spec_path,
    read_rkme,
    rkme_spec_path,
    write_rkme,
)
from hubscout.labeling.store import card_of, label_model
from hubscout.models import load_model
from hubscout.models.base import Generator, HubModel, VisionLanguageModel
from hubscout.params import IdentificationParams
from hubscout.settings import Settings
from hubscout.starter.catalog import CLASSIFIERS, VLMS
from hubscout.transferability.hub import score_one_model
from hubscout.transferability.suite import METRICS
from registry.publication import SpecPublication, generator_publication, rkme_publication
from registry.sources import file_hash, verify_source
from tasks.identification import pool_gamma
from tasks.ray_jobs import gpus_per_job, map_on_ray, ray_session, retry_transient

ROWS_FORMAT = "transferability-rows-1"  # bump when score_one_model's output changes


@dataclass(frozen=True)
class GeneratorReference:
    """The hub model whose image tower embeds the generator specifications, and the style
    weight of their descriptors."""

    name: str
    source: str
    style_weight: float


@dataclass(frozen=True)
class RkmeReference:
    """The hub model whose image tower embeds the RKME specifications, and the kernel
    bandwidth they share (None: none published yet, computed from the world)."""

    name: str
    source: str
    gamma: float | None


PIPELINE_NOTE = "a pipeline is not labeled: it answers its own task's classes"


@dataclass(frozen=True)
class RegisteredJob:
    """What one model's job needs."""

    name: str
    source: str
    kind: str
    content_hash: str
    settings: Settings
    generator_reference: GeneratorReference | None
    rkme_reference: RkmeReference | None
    identification: IdentificationParams
    metrics: tuple[str, ...]  # the per-model transferability metrics, and their seed
    transferability_seed: int


@dataclass(frozen=True)
class RegisteredResult:
    """One model's outputs, or the reason it failed; `notes` say what was not built and why."""

    name: str
    label: pl.DataFrame | None = None
    spec: SpecPublication | None = None
    rows: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    failure: str | None = None


def per_model_metrics(names: list[str]) -> tuple[str, ...]:
    """The metrics that score a model alone (pool-relative ones are left to the benchmark)."""
    return tuple(name for name in names if not METRICS[name].pool_relative)


def _process(job: RegisteredJob) -> RegisteredResult:
    try:
        return retry_transient(lambda: _process_once(job))
    except Exception as error:  # one model's failure is its own, with the reason kept
        return RegisteredResult(job.name, failure=f"{type(error).__name__}: {error}")


def _process_once(job: RegisteredJob) -> RegisteredResult:
    settings = job.settings
    # the file is read only as it was registered: same resolved path, roots and bytes
    verify_source(job.source, job.content_hash, settings.source_roots, settings.layout.hub_manifest)
    world = World(settings.layout.world)
    if job.kind == "generator":  # the flow sends generators only with a generator reference
        return RegisteredResult(job.name, spec=_generator_spec(job))
    if job.kind == "pipeline":  # loading checks that every member is as it was trained on
        _load(job, job.source)
        return RegisteredResult(job.name, notes=(PIPELINE_NOTE,))
    label = label_model(job.source, world, settings).table
    spec, notes = None, ()
    if job.rkme_reference is None:
        notes = ("no RKME spec: no RKME encoder is published yet",)
    elif (images := _training_images(job, world)) is None:
        notes = ("no RKME spec: its card names no training_sample (.npz of training images)",)
    else:
        spec = _rkme_spec(job, world, images)
    return RegisteredResult(
        job.name, label.with_columns(model_id=pl.lit(job.name)), spec, _rows(job, world), notes
    )


def _rows(job: RegisteredJob, world: World) -> tuple[dict, ...]:
    """The model's transferability rows: a linear probe and the per-model metrics on every
    world task, from the cache when the model, the tasks' data and the metrics are the same."""
    seed = job.transferability_seed
    data_hash = file_hash(world.root / "task_images.parquet")
    key = cache_key(ROWS_FORMAT, job.content_hash, data_hash, ",".join(job.metrics), str(seed))
    path = job.settings.cache_dir / "registered" / "rows" / f"{key}.json"
    cached = read_json(path)
    if cached is not None:
        return tuple(cached)
    model = _load(job, job.source)
    scores = score_one_model(world, job.name, model, job.settings.cache_dir, job.metrics, seed)
    rows = [{"model": job.name, "ground_truth": "linear_probe"} | r for r in scores.to_dicts()]
    write_json_atomic(path, rows)
    return tuple(rows)


def _load(job: RegisteredJob, source: str) -> HubModel:
    """A model on the job's device, a starter one through the job's hub manifest."""
    return load_model(source, job.settings.resolved_device(), job.settings.layout.hub_manifest)


def _encoder(
    job: RegisteredJob, reference: GeneratorReference | RkmeReference
) -> VisionLanguageModel:
    encoder = _load(job, reference.source)
    if not isinstance(encoder, VisionLanguageModel):
        raise ConfigError(f"the encoder {reference.name} is not a VLM")
    return encoder


def _generator_spec(job: RegisteredJob) -> SpecPublication:
    generator = _load(job, job.source)
    if not isinstance(generator, Generator):
        raise ConfigError(f"{job.source} is a {generator.kind}, registered as a generator")
    params = job.identification
    prompts = world_prompts(params.spec_prompts, params.seed)
    reference = job.generator_reference
    encoder = _encoder(job, reference)
    style_weight = reference.style_weight
    version = spec_version(generator.content_hash, encoder, style_weight, prompts)
    path = generator_spec_path(job.settings.layout.specs, job.name, version)
    if path.is_file():  # this job's, or the identification stage's with the same encoder
        spec = GeneratorSpecification.load(path)
    else:
        spec = build_spec(
            job.name, generator, encoder, prompts, params.per_prompt, style_weight, params.seed
        )
        spec.save(path.parent)
    return generator_publication(spec, reference.name)


def _training_images(job: RegisteredJob, world: World) -> np.ndarray | None:
    """Images of the model's training data: a starter model's slice of the world (as the
    identification stage draws it), or the sample its card names; None without either."""
    params = job.identification
    if job.source.startswith("starter:"):
        catalog = {spec.name: spec for spec in (*VLMS, *CLASSIFIERS)}
        indices = training_indices(catalog[job.source.removeprefix("starter:")], world)
        parts = split_slice(
            indices, params.rkme_samples, params.rkme_queries, params.rkme_tuning_queries,
            params.seed,
        )  # fmt: skip
        return world.pool_images[parts.spec]
    card = card_of(job.source, job.settings)
    if card is None or card.training_sample is None:
        return None
    checkpoint = job.source.partition("@")[2]
    images = load_image_dataset(Path(checkpoint).with_name(card.training_sample)).images
    if len(images) > params.rkme_samples:
        keep = np.random.default_rng(params.seed).choice(len(images), params.rkme_samples, False)
        images = images[np.sort(keep)]
    return images


def _rkme_spec(job: RegisteredJob, world: World, images: np.ndarray) -> SpecPublication:
    """The RKME spec of the training images, embedded by the RKME encoder, from the spec
    store when the images, the encoder and the parameters are the same."""
    params = job.identification
    reference = job.rkme_reference
    encoder = _encoder(job, reference)
    gamma = reference.gamma
    if gamma is None:
        gamma = pool_gamma(encoder, world, params.seed)
    path = rkme_spec_path(
        job.settings.layout.specs, encoder.content_hash, images, params.rkme_points, gamma,
        params.seed,
    )  # fmt: skip
    spec = read_rkme(path, gamma)
    if spec is None:
        spec = fit_rkme(encoder.encode_images(images), params.rkme_points, gamma, params.seed)
        write_rkme(path, spec)
    return rkme_publication(job.name, spec, reference.name)


@task(name="process-registered")
def process_registered(jobs: list[RegisteredJob], parallel_jobs: int = 2) -> list[RegisteredResult]:
    """Every job's result, in order; one CPU (and the configured GPU share) per model."""
    if not jobs:
        return []
    settings = jobs[0].settings
    with ray_session(settings, num_cpus=parallel_jobs):
        gpus = gpus_per_job(settings)
        names = [job.name for job in jobs]
        return map_on_ray(_process, jobs, names, num_cpus=1, num_gpus=gpus, what="processed")
