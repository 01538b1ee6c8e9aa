"""The registry service on a real uvicorn (loopback, a free port), on SQLite and on the
machine's PostgreSQL: started by a fixture, stopped by its process id."""

import httpx

from tests.conftest import TINY_CLIP_ARCH
from tests.integration.conftest import TOKEN

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def test_a_local_checkpoint_is_registered_listed_shown_and_retired(service):
    base, root, digest = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    body = {"name": "tiny-clip", "source": source, "license": "MIT", "tags": ["tiny", "test"]}
    created = httpx.post(f"{base}/models", json=body, headers=WRITE)
    assert created.status_code == 202, created.text
    assert created.headers["location"] == "/models/tiny-clip"
    model = created.json()["model"]
    assert (model["kind"], model["content_hash"], model["status"]) == ("vlm", digest, "registered")
    again = httpx.post(f"{base}/models", json=body, headers=WRITE)  # idempotent
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
    base, root, _ = service
    good = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    post = lambda body, headers=WRITE: httpx.post(f"{base}/models", json=body, headers=headers)  # noqa: E731
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
    base, _, _ = service
    assert httpx.get(f"{base}/docs").status_code == 200
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert {"/models", "/models/{name}", "/healthz", "/readyz"} <= set(paths)
    assert set(paths["/models/{name}"]) == {"get", "delete"}
