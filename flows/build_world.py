"""Flow: render the synthetic concept world, validate it, draw its contact sheets.

Run by the DVC stage `world` (`python -m flows.build_world`), parameters from params.yaml.
"""

import time
from pathlib import Path

import mlflow
from prefect import flow

from hubscout.data.store import WorldParams
from hubscout.params import read_params
from hubscout.settings import Settings, apply_offline_defaults
from tasks.progress import say
from tasks.tracking import mlflow_run
from tasks.validation import validate_world
from tasks.world import render_world, write_task_contact_sheets


@flow(name="build-world", log_prints=True)
def build_world_flow(params_file: Path = Path("params.yaml")) -> dict:
    """Build the world into <data dir>/world and log it to MLflow."""
    settings = Settings()
    params = WorldParams(**read_params(params_file, "world"))
    out = settings.layout.world
    start = time.perf_counter()
    summary = render_world(params, out)
    render_seconds = time.perf_counter() - start
    say(f"world: {summary['probe_images']} probe images rendered in {render_seconds:.0f} s")
    suites = validate_world(out, params.image_size, params.probes_per_leaf)
    say(f"world: {sum(s.evaluated for s in suites)} expectations met")
    sheets = write_task_contact_sheets(out)
    with mlflow_run(settings, "world", "build-world"):
        mlflow.log_params(params.model_dump())
        mlflow.log_metrics(
            {
                "nodes": summary["nodes"],
                "leaves": summary["leaves"],
                "probe_images": summary["probe_images"],
                "tasks": summary["tasks"],
                "expectations_evaluated": sum(s.evaluated for s in suites),
                "render_seconds": render_seconds,
            }
        )
        for sheet in sheets:
            mlflow.log_artifact(str(sheet), artifact_path="contact_sheets")
    say(f"world: {summary['nodes']} nodes, {summary['tasks']} tasks, {len(sheets)} contact sheets")
    return summary


if __name__ == "__main__":
    apply_offline_defaults()
    build_world_flow()
