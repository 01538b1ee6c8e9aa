"""on_model_registered labels the model it is given under the model's labeling slot; relabel
picks all, stale or named models of a registry that already holds the labeled tiny hub."""

import shutil

import mlflow
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client

from flows.on_model_registered import (
    model_slot_name,
    models_to_relabel,
    on_model_registered,
    relabel,
)
from hubscout.errors import ConfigError
from hubscout.settings import Settings
from registry.store import RegistryStore, UnknownModelError
from tests.conftest import register_checkpoint


@pytest.fixture
def hub_with_new_clip(labeled_data_dir, tiny_clip, tmp_path, monkeypatch) -> Settings:
    """A copy of the labeled tiny hub (hub version 1) with the tiny clip registered as
    my-clip, not yet labeled."""
    data = tmp_path / "data"
    shutil.copytree(labeled_data_dir, data)
    shutil.copy(tiny_clip[1], data / "my-clip.pt")
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(data))
    settings = Settings()
    register_checkpoint(settings, "my-clip", data / "my-clip.pt")
    return settings


def test_relabel_picks_all_stale_or_named_models(hub_with_new_clip):
    settings = hub_with_new_clip
    store = RegistryStore(settings.registry_database_url)
    try:
        ready = store.models(status="ready")
        labeled = sorted(m["model_id"] for m in ready if m["kind"] != "generator")
        retired = labeled.pop()
        store.retire(retired)
    finally:
        store.close()
    assert len(labeled) >= 3
    # every ready label was made on this world's graph: only the new model is stale
    assert models_to_relabel("stale", settings) == ["my-clip"]
    assert models_to_relabel("all", settings) == sorted([*labeled, "my-clip"])
    assert models_to_relabel(f" my-clip,{labeled[0]} ,", settings) == sorted(
        [labeled[0], "my-clip"]
    )
    with pytest.raises(UnknownModelError, match=f"{retired}, who"):
        models_to_relabel(f"who,{retired}", settings)
    with pytest.raises(ConfigError, match="all, stale or"):
        models_to_relabel(" , ", settings)
    (settings.data_dir / "empty").mkdir()
    empty = Settings(data_dir=settings.data_dir / "empty")  # no models, no world
    assert models_to_relabel("stale", empty) == models_to_relabel("all", empty) == []


def test_a_registered_model_is_labeled_under_its_slot_and_a_rerun_changes_nothing(
    hub_with_new_clip, ray_cluster
):
    summary = on_model_registered("my-clip")
    assert summary == {"labeled": ["my-clip"], "failed": {}, "hub_version": 2}
    store = RegistryStore(hub_with_new_clip.registry_database_url)
    try:
        model = store.model("my-clip")
    finally:
        store.close()
    assert model["status"] == "ready" and len(model["label_versions"]) == 1
    assert [e["status"] for e in model["history"]] == ["registered", "labeling", "ready"]
    with get_client(sync_client=True) as client:
        slot = client.read_global_concurrency_limit_by_name(model_slot_name("my-clip"))
    assert (slot.limit, slot.active_slots) == (1, 0)  # taken during the run, released after
    # nothing is stale any more, and a second event for the same model publishes nothing
    assert relabel("stale") == {"labeled": [], "failed": {}, "hub_version": None}
    assert on_model_registered("my-clip")["hub_version"] == 2

    # MLflow: a run per labeling flow run with its provenance and a nested run for the model
    client = MlflowClient(hub_with_new_clip.mlflow_uri)
    experiment = client.get_experiment_by_name("lifecycle").experiment_id
    runs = client.search_runs([experiment], order_by=["attributes.start_time ASC"])
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert [p.data.tags["hubscout.hub_version"] for p in parents] == ["2", "2"]
    assert all(len(p.data.tags["prefect.flow_run_id"]) == 36 for p in parents)
    [first] = [
        run for run in runs if run.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id
    ]
    assert first.data.tags["hubscout.model"] == "my-clip"
    assert first.data.tags["hubscout.label_version"] == model["label_versions"][0]["label_version"]
    assert "mean_acc_leaves" in first.data.metrics
    artifacts = {a.path for a in client.list_artifacts(first.info.run_id)}
    assert {"label.json", "label_validation.json"} <= artifacts
    validation = mlflow.artifacts.load_dict(f"{first.info.artifact_uri}/label_validation.json")
    assert validation == {"suite": "my-clip", "evaluated": 6, "failed": []}
    # MLflow's Model Registry: the model it labeled, one version for its weights
    registered = {m.name: m for m in client.search_registered_models()}
    assert list(registered) == ["my-clip"]
    assert registered["my-clip"].tags["status"] == "ready"
    assert registered["my-clip"].tags["label_version"] == model["label_version"]
    [version] = client.search_model_versions("name='my-clip'")
    assert version.tags["content_hash"] == model["content_hash"]
    assert version.source == model["source"]
