"""Prefect task that labels the starter hub's models on Ray, through the one label store that
every model's label is kept in (a stored label that is current is reused, not computed)."""

from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.store import World
from hubscout.labeling.store import label_model, read_labels
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings
from tasks.ray_jobs import map_on_ray, ray_session


def _label_one(job: tuple[str, Path, Settings]) -> tuple[str, bool, int]:
    source, world_dir, settings = job
    result = label_model(source, World(world_dir), settings)
    return result.model_id, result.computed, result.table.height


@task(name="label-models")
def label_models(
    sources: list[str], world_dir: Path, settings: Settings, parallel_jobs: int = 2
) -> list[tuple[str, bool, int]]:
    """(model id, computed now?, label rows) for every source, one CPU per labeling job."""
    jobs = [(source, world_dir, settings) for source in sources]
    with ray_session(settings, num_cpus=parallel_jobs):
        return map_on_ray(_label_one, jobs, sources, num_cpus=1, what="labeled")


def label_starter_hub(settings: Settings) -> pl.DataFrame:
    """The labels of the starter hub's VLMs and classifiers, the ones not yet in the store (or
    stale there) computed now: what the benchmarks rank, as the per-model job stores it."""
    entries = read_manifest(settings.layout.hub_manifest).models
    names = [e.name for e in entries if e.kind in ("vlm", "classifier")]
    label_models([f"starter:{name}" for name in names], settings.layout.world, settings)
    return read_labels(settings, names)
