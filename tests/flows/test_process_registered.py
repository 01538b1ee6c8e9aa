"""A model that is not from the starter hub, registered over HTTP, labeled by the label flow
and then answered by /select with a new hub version (SQLite and PostgreSQL); a labeling run
killed half-way resumes from the label store without relabeling what it finished."""

import os
import shutil
import signal
import subprocess
import sys

import httpx
import polars as pl
import torch
from prefect.settings import PREFECT_API_URL

from flows.process_registered import process_registered_flow
from hubscout.selection.ranking import DEFAULT_METRIC
from hubscout.settings import Settings
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN, register_checkpoint, wait_for

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def test_a_registered_checkpoint_is_labeled_and_selected(
    service, ray_cluster, monkeypatch, tmp_path
):
    for name, value in service.env.items():
        monkeypatch.setenv(name, value)
    source = f"open_clip:{TINY_CLIP_ARCH}@{service.root / 'tiny.pt'}"
    garbage = service.root / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    refused = httpx.post(
        f"{service.base}/models",
        json={"name": "garbage", "source": f"open_clip:{TINY_CLIP_ARCH}@{garbage}"},
        headers=WRITE,
        timeout=60,  # the first registration imports the open_clip loader in the service
    )
    assert refused.status_code == 400 and refused.json()["detail"].startswith("checkpoint garbage")
    broken = service.root / "broken.pt"  # reads as a state dict; fits no architecture
    torch.save({"weight": torch.zeros(2)}, broken)
    for name, uri in (
        ("tiny-clip", source),
        ("broken-clip", f"open_clip:{TINY_CLIP_ARCH}@{broken}"),
    ):
        answer = httpx.post(
            f"{service.base}/models", json={"name": name, "source": uri}, headers=WRITE, timeout=60
        )
        assert answer.status_code == 202, answer.text
    request = {"class_names": ["crimson", "navy"], "k": 1}
    before = httpx.post(f"{service.base}/select", json=request, timeout=120)
    assert before.status_code == 409 and before.json()["detail"].startswith("hub version 0 has")

    summary = process_registered_flow(["tiny-clip", "broken-clip"])
    assert summary["processed"] == ["tiny-clip"] and summary["hub_version"] == 1
    assert list(summary["failed"]) == ["broken-clip"]

    store = RegistryStore(registry_url(service))
    hub = store.hub()
    assert hub.models["tiny-clip"].status == "ready"
    failed = store.model("broken-clip")
    assert (
        failed["status"] == "failed" and failed["status_reason"] == summary["failed"]["broken-clip"]
    )
    assert [e["status"] for e in failed["history"]] == ["registered", "labeling", "failed"]
    label = hub.labels.filter(pl.col("model_id") == "tiny-clip")
    assert label.height > 0 and label["label_version"].n_unique() == 1

    answer = httpx.post(f"{service.base}/select", json=request, timeout=120)
    assert answer.status_code == 200, answer.text
    selected = answer.json()
    assert selected["hub_version"] == 1 and answer.headers["etag"].startswith('"1-')
    assert [row["model"] for row in selected["ranking"]] == ["tiny-clip"]
    assert selected["ranking"][0]["label_version"] == label["label_version"][0]
    # the tiny clip's own label values on the matched nodes give its score exactly
    values = dict(
        label.filter(pl.col("metric") == DEFAULT_METRIC).select("node_id", "value").iter_rows()
    )
    p = [
        sum(n["weight"] * values.get(n["node_id"], 0.0) for n in c["nodes"])
        for c in selected["classes"]
    ]
    assert abs(selected["ranking"][0]["mean_r"] - sum(p) / len(p)) < 1e-9
    store.close()


def registry_url(service) -> str:
    return service.env.get(
        "HUBSCOUT_DATABASE_URL", f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db"
    )


def test_a_labeling_run_killed_half_way_resumes_without_relabeling(tiny_world, tiny_clip, tmp_path):
    import open_clip

    data = tmp_path / "data"
    shutil.copytree(tiny_world, data / "world")
    settings = Settings(data_dir=data)
    names = [f"clip-{seed}" for seed in range(4)]
    for seed, name in enumerate(names):
        torch.manual_seed(seed)
        model = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None)
        torch.save(model.state_dict(), data / f"{name}.pt")
        register_checkpoint(settings, name, data / f"{name}.pt")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSCOUT_", "PREFECT_API"))}
    env |= {"HUBSCOUT_DATA_DIR": str(data), "PREFECT_API_URL": PREFECT_API_URL.value()}
    command = [sys.executable, "-m", "flows.process_registered", *names]
    labels = data / "labels"
    run = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: list(labels.glob("*.parquet")), 300, "a first label", poll_s=0.05)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    done = {path: path.stat().st_mtime_ns for path in labels.glob("*.parquet")}
    assert 1 <= len(done) < len(names)

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {path: path.stat().st_mtime_ns for path in done} == done  # finished ones reused
    store = RegistryStore(settings.registry_database_url)
    try:
        assert {store.model(name)["status"] for name in names} == {"ready"}
    finally:
        store.close()
