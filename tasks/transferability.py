"""Fine-tuning ground truth as Ray jobs: one job per (model, task), one CPU each."""

from pathlib import Path

import polars as pl
from prefect import task

from hubscout.data.store import World
from hubscout.models import load_model
from hubscout.models.starter_loader import resolve
from hubscout.settings import Settings
from hubscout.transferability.fine_tune import GROUND_TRUTH_FINE_TUNE, fine_tune_accuracy
from hubscout.transferability.hub import labeled_part, task_dataset
from tasks.ray_jobs import map_on_ray, ray_session


def _fine_tune_one(job: tuple[str, str, Path, int, int]) -> float:
    uri, task_name, world_dir, steps, seed = job
    world = World(world_dir)
    model = load_model(uri)
    return fine_tune_accuracy(
        model, labeled_part(world, task_name), task_dataset(world, task_name, "test"), steps, seed
    )


@task(name="fine-tune-ground-truth")
def fine_tune_ground_truth(
    model_names: list[str],
    task_names: list[str],
    steps: int,
    settings: Settings,
    parallel_jobs: int = 2,
    seed: int = 0,
) -> pl.DataFrame:
    """task, model, accuracy, ground_truth="fine_tune" for every (model, task) pair."""
    hub = settings.layout.hub_manifest
    world_dir = settings.layout.world
    pairs = [(name, task_name) for task_name in task_names for name in model_names]
    jobs = [(resolve(name, hub), task_name, world_dir, steps, seed) for name, task_name in pairs]
    with ray_session(settings, num_cpus=parallel_jobs):
        accuracies = map_on_ray(
            _fine_tune_one, jobs, [f"{m} on {t}" for m, t in pairs], what="fine-tuned"
        )
    return pl.DataFrame(
        {
            "task": [t for _, t in pairs],
            "model": [m for m, _ in pairs],
            "accuracy": accuracies,
            "ground_truth": GROUND_TRUTH_FINE_TUNE,
        }
    )
