"""MLflow tracking: one place that points MLflow at the profile's store, tags runs with where
they came from, and mirrors the hub into MLflow's Model Registry."""

import os
import subprocess
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from hubscout.hub import Hub
from hubscout.settings import Settings

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"


# the UI opens an experiment without this tag in its GenAI layout (traces, judges, prompts)
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = {EXPERIMENT_KIND_TAG: "custom_model_development"}


@contextmanager
def mlflow_run(
    settings: Settings, experiment: str, run_name: str, tags: dict[str, str] | None = None
) -> Iterator[mlflow.ActiveRun]:
    """A run in `experiment` on the profile's tracking store (artifacts in the data dir when
    embedded)."""
    exported = os.environ.get(TRACKING_URI_VARIABLE)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    # set_tracking_uri also exports MLFLOW_TRACKING_URI, which Settings reads: without the
    # restore, every later Settings() of this process would take this store for a
    # production tracking server (measured on MLflow 3.17.2)
    if exported is None:
        os.environ.pop(TRACKING_URI_VARIABLE, None)
    else:
        os.environ[TRACKING_URI_VARIABLE] = exported
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is None:
        location = None
        if settings.mlflow_uri.startswith("sqlite:"):
            location = (settings.mlflow_artifact_dir / experiment).as_uri()
        mlflow.create_experiment(experiment, artifact_location=location, tags=EXPERIMENT_KIND)
    mlflow.set_experiment(experiment)
    if existing is not None and existing.tags.get(EXPERIMENT_KIND_TAG) is None:
        mlflow.set_experiment_tags(EXPERIMENT_KIND)  # an experiment made before the tag
    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        yield run


def provenance_tags(hub_version: int | None) -> dict[str, str]:
    """Where a flow run's results came from: the Prefect flow run, the hub version, the git
    commit of the code and the DVC hash of the starter hub's data ("unknown" outside a git
    checkout or a DVC pipeline)."""
    from prefect.runtime import flow_run

    return {
        "prefect.flow_run_id": str(flow_run.id or "none"),
        "hubscout.hub_version": str(hub_version),
        "git.commit": _git_commit(),
        "dvc.data_hash": _dvc_hash(Path("dvc.lock"), "data/hub"),
    }


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def _dvc_hash(lock: Path, out: str) -> str:
    if not lock.is_file():
        return "unknown"
    stages = yaml.safe_load(lock.read_text()).get("stages", {})
    for stage in stages.values():
        for entry in stage.get("outs", []):
            if entry.get("path") == out:
                return str(entry.get("md5", "unknown"))
    return "unknown"


def model_version_uri(name: str, content_hash: str) -> str:
    """The source of a hub model's version in MLflow's Model Registry. Not the loader URI
    (`open_clip:<arch>@/path` is no URI to MLflow, and a tracking server refuses local paths
    outside a run's artifacts), but a URI that names the registry entry and its weights."""
    return f"hubscout://models/{name}/{content_hash}"


def sync_model_registry(
    hub: Hub, settings: Settings, names: Collection[str] | None = None
) -> dict[str, int]:
    """Mirror the hub (or its models `names`) in MLflow's Model Registry: a registered model
    per hub model, tagged with its kind, source, status and current label version, and a model
    version per content hash (source `hubscout://models/<name>/<hash>`; the loader URI and the
    hash as tags). The version number of each model's current hash."""
    client = MlflowClient(settings.mlflow_uri)
    current = {}
    for name, model in sorted(hub.models.items()):
        if names is not None and name not in names:
            continue
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(name, description=f"hub model from {model.source}")
        tags = {
            "kind": model.kind,
            "source": model.source,
            "status": model.status,
            "label_version": model.label_version or "none",
        }
        for key, value in tags.items():
            client.set_registered_model_tag(name, key, value)
        query = f"name='{name}' and tags.content_hash='{model.content_hash}'"
        versions = client.search_model_versions(query)
        if not versions:
            versions = [
                client.create_model_version(
                    name,
                    source=model_version_uri(name, model.content_hash),
                    tags={"content_hash": model.content_hash, "source": model.source},
                    description=f"weights with SHA-256 {model.content_hash}",
                )
            ]
        current[name] = int(versions[0].version)
    return current
