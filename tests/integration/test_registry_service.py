"""The registry service on a real uvicorn (loopback, a free port), on SQLite and on the
machine's PostgreSQL: started by a fixture, stopped by its process id."""

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import polars as pl
from PIL import Image

from hubscout.selection.ranking import DEFAULT_METRIC
from hubscout.tuning import AccuracyTuning
from registry.publication import LabelPublication, ModelRows, Publication
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN

WRITE = {"Authorization": f"Bearer {TOKEN}"}
SLOW = 120  # seconds: the first query of a service waits for the text embedder to load


def test_a_local_checkpoint_is_registered_listed_shown_and_retired(service):
    base, root, digest, _ = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    body = {"name": "tiny-clip", "source": source, "license": "MIT", "tags": ["tiny", "test"]}
    created = httpx.post(f"{base}/models", json=body, headers=WRITE, timeout=60)
    assert created.status_code == 202, created.text
    assert created.headers["location"] == "/models/tiny-clip"
    model = created.json()["model"]
    assert (model["kind"], model["content_hash"], model["status"]) == ("vlm", digest, "registered")
    again = httpx.post(f"{base}/models", json=body, headers=WRITE, timeout=60)  # idempotent
    assert again.status_code == 202 and len(again.json()["model"]["history"]) == 1
    page = httpx.get(f"{base}/models", params={"kind": "vlm", "tag": "tiny"}).json()
    assert (page["total"], page["hub_version"]) == (1, 0)
    assert [m["model_id"] for m in page["items"]] == ["tiny-clip"]
    assert httpx.get(f"{base}/models", params={"kind": "generator"}).json()["total"] == 0
    retired = httpx.delete(f"{base}/models/tiny-clip", headers=WRITE)
    assert retired.status_code == 200 and retired.json()["hub_version"] == 1
    shown = httpx.get(f"{base}/models/tiny-clip").json()["model"]
    assert [e["status"] for e in shown["history"]] == ["registered", "retired"]
    assert httpx.get(f"{base}/models", params={"status": "retired"}).json()["total"] == 1
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and "Traceback" not in response.text
    return problem["detail"]


def test_bad_requests_get_problem_documents_and_change_nothing(service, tmp_path):
    base, root, _, _ = service
    good = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"

    def post(body, headers=WRITE):
        return httpx.post(f"{base}/models", json=body, headers=headers, timeout=60)

    assert "need 'Authorization: Bearer" in _problem(post({"name": "a", "source": good}, {}), 401)
    wrong = {"Authorization": "Bearer nope"}
    _problem(post({"name": "a", "source": good}, wrong), 401)
    assert "unknown source scheme 'hf'" in _problem(post({"name": "a", "source": "hf:x"}), 400)
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes(b"weights")
    for location in (outside, root / ".." / "elsewhere.pt"):
        detail = _problem(post({"name": "a", "source": f"timm:resnet10t@{location}"}), 400)
        assert "outside the directories the registry may read" in detail
    (root / "link.pt").symlink_to(outside)
    _problem(post({"name": "a", "source": f"timm:resnet10t@{root / 'link.pt'}"}), 400)
    missing = _problem(post({"name": "a", "source": f"timm:resnet10t@{root / 'none.pt'}"}), 400)
    assert "does not exist" in missing
    assert "body.name" in _problem(post({"name": "../etc", "source": good}), 422)
    assert "over 4000 bytes" in _problem(post({"name": "a", "source": good, "x": "y" * 5000}), 413)
    assert "'ghost' is not registered" in _problem(httpx.get(f"{base}/models/ghost"), 404)
    assert httpx.get(f"{base}/models").json()["total"] == 0
    assert post({"name": "a", "source": good}).status_code == 202
    other = f"open_clip:{TINY_CLIP_ARCH}@{root / 'copy.pt'}"
    (root / "copy.pt").write_bytes((root / "tiny.pt").read_bytes())
    assert "belongs to" in _problem(post({"name": "a", "source": other}), 409)


def test_the_openapi_page_and_schema_are_served(service):
    base, _, _, _ = service
    assert httpx.get(f"{base}/docs").status_code == 200
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert {
        "/models", "/models/{name}", "/select", "/identify", "/rank", "/benchmarks/{name}",
        "/tuned", "/healthz", "/readyz",
    } == set(paths)  # fmt: skip
    assert set(paths["/models/{name}"]) == {"get", "delete"}


def _store(service):
    url = service.env.get(
        "HUBSCOUT_DATABASE_URL", f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db"
    )
    return RegistryStore(url)


def _label(name, values):
    """A label of `name` on the tiny world's colour nodes (the metric selection ranks by)."""
    table = pl.DataFrame(
        {
            "model_id": [name] * len(values),
            "node_id": list(values),
            "metric": [DEFAULT_METRIC] * len(values),
            "value": list(values.values()),
            "label_version": [f"{name}-v{sum(values.values()):.2f}"] * len(values),
        }
    )
    return LabelPublication(name, table["label_version"][0], "g", table)


def test_select_answers_from_the_current_hub_version_with_an_etag(service):
    base, root, _, _ = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    for name in ("clip-a", "clip-b"):
        body = {"name": name, "source": source, "license": "MIT" if name == "clip-a" else "GPL"}
        assert httpx.post(f"{base}/models", json=body, headers=WRITE, timeout=60).status_code == 202
    request = {"class_names": ["crimson", "navy", "teapot"], "k": 1}
    assert "has no labeled vlm" in _problem(
        httpx.post(f"{base}/select", json=request, timeout=SLOW), 409
    )
    store = _store(service)
    labels = (
        _label("clip-a", {"crimson": 0.9, "navy": 0.2}),
        _label("clip-b", {"crimson": 0.1, "navy": 0.8}),
    )
    assert store.publish(Publication("labels", labels=labels)) == 1
    answered = httpx.post(f"{base}/select", json=request, timeout=SLOW)
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    assert answer["hub_version"] == 1 and answered.headers["etag"].startswith('"1-')
    # r = 0.7 p(own class) + 0.3 p(other class), per class; overall: the mean over classes
    expected = {"clip-a": (0.9 + 0.2) / 2, "clip-b": (0.1 + 0.8) / 2}
    assert [row["model"] for row in answer["ranking"]] == ["clip-a", "clip-b"]
    for row in answer["ranking"]:
        assert abs(row["mean_r"] - expected[row["model"]]) < 1e-12
        assert row["label_version"] == store.hub().models[row["model"]].label_version
    tops = {c["class_name"]: [t["model"] for t in c["top"]] for c in answer["classes"]}
    assert tops == {"crimson": ["clip-a"], "navy": ["clip-b"], "teapot": []}
    assert answer["not_covered"] == ["teapot"]
    etag = answered.headers["etag"]
    unchanged = httpx.post(f"{base}/select", json=request, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.headers["etag"] == etag
    licensed = httpx.post(f"{base}/select", json=request | {"licenses": ["MIT"]}).json()
    assert [r["model"] for r in licensed["ranking"]] == ["clip-a"]
    assert licensed["excluded"] == {"clip-b": "license GPL"}
    store.publish(
        Publication("relabel", labels=(_label("clip-b", {"crimson": 0.95, "navy": 0.9}),))
    )
    refreshed = httpx.post(f"{base}/select", json=request, headers={"If-None-Match": etag})
    assert refreshed.status_code == 200 and refreshed.json()["hub_version"] == 2
    assert refreshed.json()["ranking"][0]["model"] == "clip-b"  # the index refreshed
    assert httpx.delete(f"{base}/models/clip-b", headers=WRITE).json()["hub_version"] == 3
    after = httpx.post(f"{base}/select", json=request, timeout=SLOW).json()
    assert [r["model"] for r in after["ranking"]] == ["clip-a"] and after["hub_version"] == 3
    store.close()


def test_published_benchmarks_are_served_with_a_models_rows(service):
    base, root, _, _ = service
    assert "no selection benchmark" in _problem(httpx.get(f"{base}/benchmarks/selection"), 404)
    _problem(httpx.get(f"{base}/benchmarks/teapots"), 422)
    body = {"name": "clip-a", "source": f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"}
    httpx.post(f"{base}/models", json=body, headers=WRITE, timeout=60)
    rows = [{"model": "clip-a", "task": "swatches", "accuracy": 0.5}, {"model": "x", "task": "t"}]
    store = _store(service)
    store.publish(
        Publication("b", benchmarks={"transferability": {"summary": {"tau": 0.8}, "rows": rows}})
    )
    served = httpx.get(f"{base}/benchmarks/transferability").json()
    assert served["hub_version"] == 1 and served["document"]["summary"] == {"tau": 0.8}
    shown = httpx.get(f"{base}/models/clip-a").json()["model"]
    assert shown["benchmark_rows"] == [{"benchmark": "transferability"} | rows[0]]
    # rows a flow measured for the model alone replace its rows in the document
    own = ({"model": "clip-a", "task": "swatches", "accuracy": 0.75, "logme": -1.5},)
    store.publish(Publication("c", model_rows=(ModelRows("clip-a", "transferability", own),)))
    shown = httpx.get(f"{base}/models/clip-a").json()["model"]
    assert shown["benchmark_rows"] == [{"benchmark": "transferability"} | own[0]]
    assert httpx.get(f"{base}/tuned").json() == {"hub_version": 2, "tuned": []}
    accuracy = AccuracyTuning(chosen_on="9 tuning tasks", coefficients=(0.1, 0.5, -0.2))
    store.publish(Publication("d", tuned=(accuracy,)))
    assert httpx.get(f"{base}/tuned").json() == {
        "hub_version": 3,
        "tuned": [
            {
                "kind": "accuracy_model",
                "version": accuracy.version,
                "hub_version": 3,
                "values": accuracy.model_dump(mode="json"),
            }
        ],
    }
    store.close()


def _png(side=32):
    buffer = io.BytesIO()
    Image.fromarray(np.full((side, side, 3), 200, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_identify_and_rank_refuse_bad_uploads_with_problem_documents(service):
    base = service.base
    identify = lambda **kw: httpx.post(f"{base}/identify", **kw)  # noqa: E731
    assert "images" in _problem(identify(data={"kind": "generator"}), 422)
    garbage = [("images", ("a.png", b"not an image"))]
    _problem(identify(files=garbage), 400)
    oblong = io.BytesIO()
    Image.fromarray(np.zeros((16, 32, 3), dtype=np.uint8)).save(oblong, format="PNG")
    assert "must be square" in _problem(
        identify(files=[("images", ("o.png", oblong.getvalue()))]), 400
    )
    assert "kind" in _problem(
        identify(files=[("images", ("a.png", _png()))], data={"kind": "gan"}), 422
    )
    many = [("images", (f"{i}.png", _png())) for i in range(65)]
    assert "1 to 64 example images" in _problem(identify(files=many), 400)
    no_specs = identify(files=[("images", ("a.png", _png()))])
    assert "no published generator specifications" in _problem(no_specs, 409)
    no_rkme = identify(files=[("images", ("a.png", _png()))], data={"kind": "classifier"})
    assert "no published RKME specifications" in _problem(no_rkme, 409)
    huge = [("images", ("big.png", b"0" * 300_000))]
    assert "over 200000 bytes" in _problem(identify(files=huge), 413)

    rank = lambda name, payload, **form: httpx.post(  # noqa: E731
        f"{base}/rank", files={"dataset": (name, payload)}, data=form
    )
    assert "upload an .npz" in _problem(rank("d.txt", b"x"), 400)
    assert "not a readable zip" in _problem(rank("d.zip", b"x"), 400)
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("../../evil/a.png", _png())
    assert "points outside" in _problem(rank("d.zip", slip.getvalue()), 400)
    unlabeled = io.BytesIO()
    np.savez(unlabeled, images=np.zeros((4, 32, 32, 3), dtype=np.uint8))
    assert "has no labels" in _problem(rank("d.npz", unlabeled.getvalue()), 400)
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _problem(rank("d.npz", pickled.getvalue()), 400)
    assert "unknown metric" in _problem(rank("d.npz", unlabeled.getvalue(), metrics="bogus"), 400)


def test_fifty_concurrent_registrations_store_each_model_once_with_one_event(service):
    base, root, digest, _ = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    names = [f"clip-{i:02d}" for i in range(25)] * 2  # every name twice, at the same time

    def register(name):
        return httpx.post(
            f"{base}/models", json={"name": name, "source": source}, headers=WRITE, timeout=60
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(register, names))
    assert [a.status_code for a in answers] == [202] * 50, {a.text for a in answers}
    page = httpx.get(f"{base}/models", params={"limit": 500}).json()
    assert page["total"] == 25 and {m["content_hash"] for m in page["items"]} == {digest}
    store = _store(service)
    events = store.outbox.events()
    assert sorted(e["payload"]["name"] for e in events) == sorted(set(names))
    for name in ("clip-00", "clip-24"):
        assert len(store.model(name)["history"]) == 1
    store.close()


def test_a_registered_pipeline_is_flagged_over_http_when_its_member_retires(service):
    base, root, _, _ = service
    member = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    httpx.post(
        f"{base}/models", json={"name": "tiny-clip", "source": member}, headers=WRITE, timeout=60
    )
    folder = root / "pipe"
    folder.mkdir()
    manifest = {
        "format": "hubscout-pipeline-v1", "task": "swatches", "class_names": ["red", "blue"],
        "k": 1, "members": [
            {"name": "tiny-clip", "source": member, "content_hash": "h", "feature_dim": 8}
        ],
    }  # fmt: skip
    (folder / "pipeline.json").write_text(json.dumps(manifest))
    (folder / "weights.safetensors").write_bytes(b"weights")
    body = {"name": "pipe", "source": f"pipeline:{folder}"}
    created = httpx.post(f"{base}/models", json=body, headers=WRITE, timeout=60)
    assert created.status_code == 202, created.text
    pipeline = created.json()["model"]
    assert pipeline["kind"] == "pipeline" and pipeline["flags"] == []
    assert [m["model_id"] for m in pipeline["members"]] == ["tiny-clip"]
    assert httpx.get(f"{base}/models/tiny-clip").json()["model"]["used_by"] == ["pipe"]
    httpx.delete(f"{base}/models/tiny-clip", headers=WRITE)
    flags = httpx.get(f"{base}/models/pipe").json()["model"]["flags"]
    assert [(f["member"], f["reason"]) for f in flags] == [("tiny-clip", "tiny-clip was retired")]
    listed = httpx.get(f"{base}/models", params={"kind": "pipeline"}).json()["items"]
    assert [(m["model_id"], m["flagged"]) for m in listed] == [("pipe", True)]
