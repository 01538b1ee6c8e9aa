"""Prefect task that labels the starter hub's models on Ray; stored labels are reused."""

from pathlib import Path

from prefect import task

from hubscout.data.store import World
from hubscout.labeling.store import label_model
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
