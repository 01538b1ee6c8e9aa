"""A pipeline's members on SQLite and PostgreSQL: recorded when it registers, flagged when one
is retired, re-labeled or given new weights."""

import pytest

from registry.errors import RegistryError
from tests.integration.conftest import publish_label


def test_retiring_or_relabeling_a_member_flags_the_pipelines_that_run_it(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.register("clf-b", "starter:clf-b", "classifier", "h2")
    store.register("vlm-c", "starter:vlm-c", "vlm", "h3")
    publish_label(store, "vlm-a", "v1")
    store.register("pipe", "pipeline:/p", "pipeline", "p1", members=["vlm-a", "clf-b"])
    pipeline = store.model("pipe")
    assert pipeline["members"] == [
        {"model_id": "clf-b", "content_hash": "h2", "label_version": None},
        {"model_id": "vlm-a", "content_hash": "h1", "label_version": "v1"},
    ]
    assert pipeline["flags"] == [] and store.model("vlm-a")["used_by"] == ["pipe"]
    assert store.model("vlm-c")["used_by"] == []
    # a model the pipeline does not run moves nothing
    store.retire("vlm-c")
    assert store.model("pipe")["flags"] == []
    store.retire("clf-b")
    publish_label(store, "vlm-a", "v2")
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1-new")
    flags = store.model("pipe")["flags"]
    assert [(f["member"], f["reason"]) for f in flags] == [
        ("clf-b", "clf-b was retired"),
        ("vlm-a", "vlm-a was re-labeled (v1 -> v2)"),
        ("vlm-a", "vlm-a has new weights (h1 -> h1-new)"),
    ]
    listed = {m["model_id"]: m["flagged"] for m in store.models()}
    assert listed == {"clf-b": False, "pipe": True, "vlm-a": False, "vlm-c": False}
    # retrained on the models as they are now: the flags are cleared, the members recorded
    store.register("pipe", "pipeline:/p", "pipeline", "p2", members=["vlm-a"])
    assert store.model("pipe")["flags"] == []
    assert [m["content_hash"] for m in store.model("pipe")["members"]] == ["h1-new"]
    assert store.model("clf-b")["used_by"] == []


def test_a_pipeline_needs_registered_members_and_only_a_pipeline_has_them(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    with pytest.raises(RegistryError, match="register its members first"):
        store.register("pipe", "pipeline:/p", "pipeline", "p1", members=["vlm-a", "ghost"])
    assert [m["model_id"] for m in store.models()] == ["vlm-a"]  # nothing half-written
    with pytest.raises(RegistryError, match="registered with the models it runs"):
        store.register("pipe", "pipeline:/p", "pipeline", "p1")
    with pytest.raises(RegistryError, match="registered with the models it runs"):
        store.register("vlm-b", "starter:vlm-b", "vlm", "h2", members=["vlm-a"])
