import os

import mlflow
import polars as pl
from mlflow import MlflowClient

from hubscout.hub import Hub, HubEntry
from hubscout.settings import Settings
from tasks.tracking import (
    EXPERIMENT_KIND_TAG,
    _dvc_hash,
    mlflow_run,
    provenance_tags,
    sync_model_registry,
)


def _hub(version: int, *models: HubEntry) -> Hub:
    return Hub(version, {m.name: m for m in models}, pl.DataFrame())


def test_the_model_registry_mirrors_the_hub_with_a_version_per_content_hash(tmp_path):
    settings = Settings(data_dir=tmp_path)
    clip = HubEntry(
        "my-clip", "open_clip:tiny@/m/a.pt", "vlm", "a" * 64, "ready", label_version="v1"
    )
    gen = HubEntry("gen", "starter:gen", "generator", "b" * 64, "registered")
    assert sync_model_registry(_hub(1, clip, gen), settings) == {"gen": 1, "my-clip": 1}
    assert sync_model_registry(_hub(1, clip, gen), settings) == {"gen": 1, "my-clip": 1}
    new_weights = HubEntry("my-clip", clip.source, "vlm", "c" * 64, "retired")
    assert sync_model_registry(_hub(2, new_weights, gen), settings, ["my-clip"]) == {"my-clip": 2}

    client = MlflowClient(settings.mlflow_uri)
    model = client.get_registered_model("my-clip")
    assert model.tags == {
        "kind": "vlm",
        "source": "open_clip:tiny@/m/a.pt",
        "status": "retired",
        "label_version": "none",
    }
    versions = sorted(client.search_model_versions("name='my-clip'"), key=lambda v: v.version)
    assert [v.tags["content_hash"] for v in versions] == ["a" * 64, "c" * 64]
    assert [v.source for v in versions] == [
        "hubscout://models/my-clip/" + "a" * 64,
        "hubscout://models/my-clip/" + "c" * 64,
    ]
    assert {v.tags["source"] for v in versions} == {clip.source}


def test_provenance_names_the_data_hash_from_the_lock_file(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(
        "schema: '2.0'\nstages:\n  starter_hub:\n    outs:\n    - path: data/hub\n"
        "      hash: md5\n      md5: ffd4.dir\n"
    )
    assert _dvc_hash(lock, "data/hub") == "ffd4.dir"
    assert _dvc_hash(lock, "data/world") == "unknown"
    assert _dvc_hash(tmp_path / "missing.lock", "data/hub") == "unknown"
    tags = provenance_tags(3)
    assert tags["prefect.flow_run_id"] == "none"  # outside a flow run
    assert tags["hubscout.hub_version"] == "3"
    assert len(tags["git.commit"]) == 40  # the tests run in a git checkout


def test_a_run_does_not_leave_its_store_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(data_dir=tmp_path)
    with mlflow_run(settings, "checks", "one") as run:
        mlflow.log_metric("x", 1.0)
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert Settings(data_dir=tmp_path / "other").mlflow_uri.startswith(
        f"sqlite:///{tmp_path}/other"
    )
    logged = MlflowClient(settings.mlflow_uri).get_run(run.info.run_id)
    assert logged.data.metrics == {"x": 1.0}


def test_experiments_open_as_model_training_experiments(tmp_path):
    settings = Settings(data_dir=tmp_path)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    mlflow.create_experiment("made-before", artifact_location=(tmp_path / "a").as_uri())
    for experiment in ("labels", "made-before"):
        with mlflow_run(settings, experiment, "run"):
            pass
    client = MlflowClient(settings.mlflow_uri)
    kinds = [client.get_experiment_by_name(name).tags.get(EXPERIMENT_KIND_TAG)
             for name in ("labels", "made-before")]  # fmt: skip
    assert kinds == ["custom_model_development", "custom_model_development"]
