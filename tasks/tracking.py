"""MLflow tracking: one place that points MLflow at the profile's store."""

from collections.abc import Iterator
from contextlib import contextmanager

import mlflow

from hubscout.settings import Settings


@contextmanager
def mlflow_run(settings: Settings, experiment: str, run_name: str) -> Iterator[mlflow.ActiveRun]:
    """A run in `experiment` on the profile's tracking store (artifacts in the data dir when
    embedded)."""
    mlflow.set_tracking_uri(settings.mlflow_uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = None
        if settings.mlflow_uri.startswith("sqlite:"):
            location = (settings.mlflow_artifact_dir / experiment).as_uri()
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        yield run
