"""A model that is not from the starter hub, registered over HTTP, labeled by the label flow
and then answered by /select with a new hub version (SQLite and PostgreSQL)."""

import httpx
import polars as pl

from flows.label_registered import label_registered_flow
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def test_a_registered_checkpoint_is_labeled_and_selected(
    service, ray_cluster, monkeypatch, tmp_path
):
    for name, value in service.env.items():
        monkeypatch.setenv(name, value)
    source = f"open_clip:{TINY_CLIP_ARCH}@{service.root / 'tiny.pt'}"
    broken = service.root / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    for name, uri in (
        ("tiny-clip", source),
        ("broken-clip", f"open_clip:{TINY_CLIP_ARCH}@{broken}"),
    ):
        answer = httpx.post(
            f"{service.base}/models", json={"name": name, "source": uri}, headers=WRITE
        )
        assert answer.status_code == 202, answer.text
    request = {"class_names": ["crimson", "navy"], "k": 1}
    before = httpx.post(f"{service.base}/select", json=request, timeout=120)
    assert before.status_code == 409 and before.json()["detail"].startswith("hub version 0 has")

    summary = label_registered_flow(["tiny-clip", "broken-clip"])
    assert summary["labeled"] == ["tiny-clip"] and summary["hub_version"] == 1
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
    f1 = dict(
        label.filter(pl.col("metric") == "f1_siblings").select("node_id", "value").iter_rows()
    )
    p = [
        sum(n["weight"] * f1.get(n["node_id"], 0.0) for n in c["nodes"])
        for c in selected["classes"]
    ]
    assert abs(selected["ranking"][0]["mean_r"] - sum(p) / len(p)) < 1e-9
    store.close()


def registry_url(service) -> str:
    return service.env.get(
        "HUBSCOUT_DATABASE_URL", f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db"
    )
