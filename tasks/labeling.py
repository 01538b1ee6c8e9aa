"""Prefect tasks that label models on Ray; stored labels are reused."""

from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.store import World
from hubscout.labeling.store import label_model
from hubscout.settings import Settings
from tasks.ray_jobs import gpus_per_job, map_on_ray, ray_session, retry_transient


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
        return map_on_ray(_label_one, jobs, sources, num_cpus=1)


def _label_or_reason(job: tuple[str, str, Settings]) -> tuple[pl.DataFrame | None, str | None]:
    name, source, settings = job
    world = World(settings.layout.world)
    store = settings.layout.label_store(source)
    try:
        table = retry_transient(lambda: label_model(source, world, settings, store=store).table)
    except Exception as error:  # one model's failure is its own, with the reason kept
        return None, f"{type(error).__name__}: {error}"
    return table.with_columns(model_id=pl.lit(name)), None


@task(name="label-registered")
def label_registered(
    sources: dict[str, str], settings: Settings, parallel_jobs: int = 2
) -> dict[str, pl.DataFrame | str]:
    """name -> its label rows (keyed by the registry name), or the reason it failed; a
    failing model fails alone."""
    names = sorted(sources)
    jobs = [(name, sources[name], settings) for name in names]
    with ray_session(settings, num_cpus=parallel_jobs):
        gpus = gpus_per_job(settings)
        results = map_on_ray(_label_or_reason, jobs, names, num_cpus=1, num_gpus=gpus)
    return {
        name: table if table is not None else str(reason)
        for name, (table, reason) in zip(names, results, strict=True)
    }
