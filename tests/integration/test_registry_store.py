"""The registry store on the two databases it supports: SQLite and PostgreSQL (127.0.0.1)."""

import pytest

from registry.store import RegistryError, RegistryStore


def test_register_publish_and_list(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.register("clf-b", "starter:clf-b", "classifier", "h2")
    assert store.publish_label("vlm-a", "v1", "g", 100)
    assert not store.publish_label("vlm-a", "v1", "g", 100)
    assert store.publish_label("vlm-a", "v2", "g", 100)
    models = {m["model_id"]: m for m in store.models()}
    assert models["vlm-a"]["status"] == "labeled" and models["vlm-a"]["label_version"] == "v2"
    assert models["clf-b"]["status"] == "registered" and models["clf-b"]["label_version"] is None


def test_new_weights_send_a_model_back_to_registered(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.publish_label("vlm-a", "v1", "g", 1)
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    assert store.models()[0]["status"] == "labeled"
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
