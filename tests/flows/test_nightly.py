"""The nightly re-labeling on a copy of the labeled tiny hub: new weights for a registered
model give it a new label version whose drift is recorded; a second night computes and
publishes nothing."""

import shutil

import polars as pl
import pytest
import torch
from mlflow import MlflowClient

from flows.nightly import nightly
from flows.on_model_registered import on_model_registered
from hubscout.labeling.drift import DRIFT_METRIC, DRIFT_THRESHOLD
from hubscout.settings import Settings
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, register_checkpoint


def _drift_values(settings: Settings) -> dict[str, float]:
    """my-clip's current label values of the metric drift is measured on."""
    store = RegistryStore(settings.registry_database_url)
    try:
        labels = store.hub().labels
    finally:
        store.close()
    rows = labels.filter((pl.col("model_id") == "my-clip") & (pl.col("metric") == DRIFT_METRIC))
    return dict(rows.select("node_id", "value").iter_rows())


def test_new_weights_drift_and_a_quiet_night_publishes_nothing(
    labeled_data_dir, tiny_clip, tmp_path, monkeypatch, ray_cluster
):
    import open_clip

    data = tmp_path / "data"
    shutil.copytree(labeled_data_dir, data)
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(data))
    settings = Settings()
    checkpoint = data / "my-clip.pt"
    shutil.copy(tiny_clip[1], checkpoint)
    register_checkpoint(settings, "my-clip", checkpoint)
    assert on_model_registered("my-clip")["hub_version"] == 2
    before = _drift_values(settings)

    torch.manual_seed(1)  # other weights under the same source: registered again
    other = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None)
    torch.save(other.state_dict(), checkpoint)
    register_checkpoint(settings, "my-clip", checkpoint)
    night = nightly()
    assert night["hub_version"] == 3 and "my-clip" in night["processed"]
    after = _drift_values(settings)
    expected = sorted(
        (node, after[node] - before[node])
        for node in before
        if abs(after[node] - before[node]) > DRIFT_THRESHOLD
    )
    assert expected, "other random weights moved no node by more than the threshold"
    store = RegistryStore(settings.registry_database_url)
    try:
        drift = store.drift(3)
    finally:
        store.close()
    assert drift["model_id"].unique().to_list() == ["my-clip"]
    assert sorted(zip(drift["node_id"], drift["change"], strict=True)) == [
        (node, pytest.approx(change)) for node, change in expected
    ]
    assert night["drifted"] == {"my-clip": len(expected)}

    labels = sorted((data / "labels").glob("*.parquet"))
    stamps = [path.stat().st_mtime_ns for path in labels]
    quiet = nightly()
    assert quiet["hub_version"] == 3 and quiet["drifted"] == {}
    assert [path.stat().st_mtime_ns for path in labels] == stamps  # nothing recomputed

    client = MlflowClient(settings.mlflow_uri)
    experiment = client.get_experiment_by_name("lifecycle").experiment_id
    runs = client.search_runs([experiment], "attributes.run_name = 'nightly'")
    assert sorted(run.data.metrics["drifted_models"] for run in runs) == [0.0, 1.0]
    [drifted_run] = [run for run in runs if run.data.metrics["drifted_models"] == 1.0]
    assert "drift.json" in [a.path for a in client.list_artifacts(drifted_run.info.run_id)]
