"""The registry store on the two databases it supports: SQLite and PostgreSQL (127.0.0.1)."""

import pytest

from registry.store import (
    RegistryConflictError,
    RegistryError,
    RegistryStore,
    UnknownModelError,
)


def test_register_publish_and_list(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.register("clf-b", "starter:clf-b", "classifier", "h2")
    assert store.publish_label("vlm-a", "v1", "g", 100)
    assert not store.publish_label("vlm-a", "v1", "g", 100)
    assert store.publish_label("vlm-a", "v2", "g", 100)
    models = {m["model_id"]: m for m in store.models()}
    assert models["vlm-a"]["status"] == "ready" and models["vlm-a"]["label_version"] == "v2"
    assert models["clf-b"]["status"] == "registered" and models["clf-b"]["label_version"] is None


def test_new_weights_send_a_model_back_to_registered(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.publish_label("vlm-a", "v1", "g", 1)
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    assert store.models()[0]["status"] == "ready"
    store.register("vlm-a", "starter:vlm-a", "vlm", "h2")
    assert store.models()[0]["status"] == "registered"


def test_bad_requests_are_typed_errors_and_change_nothing(store):
    with pytest.raises(RegistryError, match="unknown model kind 'teapot'"):
        store.register("x", "starter:x", "teapot", "h")
    with pytest.raises(RegistryError, match="not registered"):
        store.publish_label("ghost", "v1", "g", 1)
    with pytest.raises(RegistryError, match="1 to 200 characters"):
        store.register("", "starter:", "vlm", "h")
    assert store.models() == []


def test_an_unreachable_database_is_a_registry_error():
    with pytest.raises(RegistryError, match="cannot open the registry database"):
        RegistryStore("postgresql+psycopg://root@127.0.0.1:1/none")


def test_the_lifecycle_is_kept_as_history_and_publishes_and_retires_raise_the_hub_version(store):
    assert store.hub_version() == 0
    store.register("clf-a", "timm:resnet10t@/m/a.safetensors", "classifier", "h1", "MIT", ["x"])
    store.set_status("clf-a", "labeling")
    store.set_status("clf-a", "failed", "checkpoint truncated")
    assert store.models()[0]["status_reason"] == "checkpoint truncated"
    store.set_status("clf-a", "labeling")
    assert store.publish_label("clf-a", "v1", "g", 5) and store.hub_version() == 1
    assert not store.publish_label("clf-a", "v1", "g", 5) and store.hub_version() == 1
    assert store.retire("clf-a") and not store.retire("clf-a") and store.hub_version() == 2
    shown = store.model("clf-a")
    assert [e["status"] for e in shown["history"]] == [
        "registered", "labeling", "failed", "labeling", "ready", "retired"
    ]  # fmt: skip
    assert shown["history"][2]["reason"] == "checkpoint truncated"
    assert [v["label_version"] for v in shown["label_versions"]] == ["v1"]
    assert (shown["license"], shown["tags"], shown["status"]) == ("MIT", ["x"], "retired")


def test_a_name_belongs_to_one_source_until_it_is_retired(store):
    assert store.register("vlm-a", "open_clip:a@/m/a.pt", "vlm", "h1")
    assert not store.register("vlm-a", "open_clip:a@/m/a.pt", "vlm", "h1")  # idempotent
    with pytest.raises(RegistryConflictError, match=r"belongs to open_clip:a@/m/a\.pt"):
        store.register("vlm-a", "open_clip:b@/m/b.pt", "vlm", "h2")
    store.retire("vlm-a")
    assert store.register("vlm-a", "open_clip:b@/m/b.pt", "vlm", "h2")
    assert store.model("vlm-a")["source"] == "open_clip:b@/m/b.pt"
    with pytest.raises(UnknownModelError, match="'ghost' is not registered"):
        store.retire("ghost")
    with pytest.raises(RegistryError, match="unknown status 'done'"):
        store.set_status("vlm-a", "done")


def test_models_filter_by_kind_status_and_tag(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1", tags=["colour", "starter"])
    store.register("vlm-b", "starter:vlm-b", "vlm", "h2", tags=["starter"])
    store.register("clf-c", "starter:clf-c", "classifier", "h3", tags=["colour"])
    store.publish_label("vlm-b", "v1", "g", 1)
    names = lambda **f: [m["model_id"] for m in store.models(**f)]  # noqa: E731
    assert names(kind="vlm") == ["vlm-a", "vlm-b"]
    assert names(status="ready") == ["vlm-b"]
    assert names(tag="colour") == ["clf-c", "vlm-a"]
    assert names(kind="vlm", tag="colour") == ["vlm-a"]
