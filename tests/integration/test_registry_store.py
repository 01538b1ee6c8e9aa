"""The registry store on the two databases it supports: SQLite and PostgreSQL (127.0.0.1)."""

import numpy as np
import pytest

from hubscout.identification.rkme import RKME
from hubscout.labeling.drift import DRIFT_METRIC
from hubscout.tuning import AccuracyTuning, EncoderChoice, PmiTuning
from registry.errors import RegistryConflictError, RegistryError, UnknownModelError
from registry.publication import ModelRows, Publication, rkme_publication
from registry.store import RegistryStore
from tests.integration.conftest import label, publish_label


def test_register_publish_and_list(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.register("clf-b", "starter:clf-b", "classifier", "h2")
    assert publish_label(store, "vlm-a", "v1")
    assert not publish_label(store, "vlm-a", "v1")
    assert publish_label(store, "vlm-a", "v2")
    models = {m["model_id"]: m for m in store.models()}
    assert models["vlm-a"]["status"] == "ready" and models["vlm-a"]["label_version"] == "v2"
    assert models["clf-b"]["status"] == "registered" and models["clf-b"]["label_version"] is None


def test_a_new_label_version_records_the_nodes_it_moved_on(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.publish(Publication("v1", labels=(label("vlm-a", "v1", (0.9, 0.5, 0.2)),)))
    store.publish(Publication("v2", labels=(label("vlm-a", "v2", (0.6, 0.55, 0.45)),)))
    first, second = store.model("vlm-a")["label_versions"]
    assert first["drift"] == []  # a first label has nothing to drift from
    assert [(d["node_id"], round(d["change"], 9)) for d in second["drift"]] == [
        ("n0", -0.3),
        ("n2", 0.25),
    ]
    assert (second["drift"][0]["previous"], second["drift"][0]["current"]) == (0.9, 0.6)
    drift = store.drift(second["hub_version"])
    assert drift.select("model_id", "label_version", "node_id").rows() == [
        ("vlm-a", "v2", "n0"),
        ("vlm-a", "v2", "n2"),
    ]
    assert store.drift(first["hub_version"]).is_empty()


def test_new_weights_send_a_model_back_to_registered(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    publish_label(store, "vlm-a", "v1")
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    assert store.models()[0]["status"] == "ready"
    store.register("vlm-a", "starter:vlm-a", "vlm", "h2")
    assert store.models()[0]["status"] == "registered"


def test_bad_requests_are_typed_errors_and_change_nothing(store):
    with pytest.raises(RegistryError, match="unknown model kind 'teapot'"):
        store.register("x", "starter:x", "teapot", "h")
    with pytest.raises(RegistryError, match="not registered"):
        publish_label(store, "ghost", "v1")
    with pytest.raises(RegistryError, match="benchmarks of selection"):
        store.publish(Publication("x", benchmarks={"teapots": {}}))
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
    assert publish_label(store, "clf-a", "v1") and store.hub_version() == 1
    assert not publish_label(store, "clf-a", "v1") and store.hub_version() == 1
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
    publish_label(store, "vlm-b", "v1")
    names = lambda **f: [m["model_id"] for m in store.models(**f)]  # noqa: E731
    assert names(kind="vlm") == ["vlm-a", "vlm-b"]
    assert names(status="ready") == ["vlm-b"]
    assert names(tag="colour") == ["clf-c", "vlm-a"]
    assert names(kind="vlm", tag="colour") == ["vlm-a"]


def test_a_snapshot_holds_what_the_ready_models_published_and_the_card_metadata(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1", "MIT", ["x"], 1234, ["red", "blue"])
    store.register("vlm-b", "starter:vlm-b", "vlm", "h2")
    store.register("clf-c", "starter:clf-c", "classifier", "h3")
    spec = RKME(np.eye(2), np.array([0.25, 0.75]), 0.5)
    version = store.publish(
        Publication(
            "first",
            labels=(label("vlm-a", "a1", (0.9, 0.1)), label("vlm-b", "b1", (0.2, 0.8))),
            specs=(rkme_publication("vlm-a", spec, "vlm-a"),),
            benchmarks={"selection": {"summary": {}, "rows": []}},
            tuned=(AccuracyTuning(chosen_on="tuning tasks", coefficients=(0.1, 0.5, 0.2)),),
        )
    )
    assert version == 1
    hub = store.hub()
    assert hub.version == 1 and [m.name for m in hub.ready()] == ["vlm-a", "vlm-b"]
    a = hub.models["vlm-a"]
    assert (a.license, a.tags, a.parameters, a.class_names) == (
        "MIT",
        ("x",),
        1234,
        ("red", "blue"),
    )
    assert a.label_version == "a1" and hub.models["clf-c"].status == "registered"
    assert hub.labels.sort("model_id", "node_id")["value"].to_list() == [0.9, 0.1, 0.2, 0.8]
    np.testing.assert_array_equal(hub.rkme_specs["vlm-a"].weights, [0.25, 0.75])
    assert hub.rkme_specs["vlm-a"].gamma == 0.5 and hub.accuracy_coefficients() == (0.1, 0.5, 0.2)
    store.publish(Publication("second", labels=(label("vlm-a", "a2", (0.3, 0.3)),)))
    store.retire("vlm-b")
    later = store.hub()
    assert later.version == 3 and [m.name for m in later.ready()] == ["vlm-a"]
    assert later.labels["label_version"].unique().to_list() == ["a2"]  # current versions only
    assert store.model("vlm-b")["label_versions"][0]["hub_version"] == 1  # history is kept
    assert store.model("vlm-a")["label_summary"] == {"nodes": 2, "mean": {DRIFT_METRIC: 0.3}}
    assert store.model("clf-c")["label_summary"] is None


def test_a_publish_that_fails_halfway_leaves_the_previous_version_whole(store):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    store.publish(Publication("first", labels=(label("vlm-a", "a1"),)))
    broken = Publication("broken", labels=(label("vlm-a", "a2"), label("ghost", "g1")))
    with pytest.raises(UnknownModelError):
        store.publish(broken)
    hub = store.hub()
    assert hub.version == 1 and hub.labels["label_version"].to_list() == ["a1"]
    assert [v["label_version"] for v in store.model("vlm-a")["label_versions"]] == ["a1"]


def test_waiting_models_are_claimed_oldest_first_and_each_by_one_caller(store):
    from concurrent.futures import ThreadPoolExecutor

    for name in ("m2", "m0", "m1", "gen", "done"):
        store.register(name, f"open_clip:a@/m/{name}.pt", "vlm", name)
    store.set_status("gen", "registered", "waits for a reference encoder")
    store.set_status("done", "ready")
    assert store.claim_registered(2) == ["m2", "m0"]  # registration order, not names
    assert store.claim_registered(10) == ["m1"]  # gen waits with a reason, done is ready
    assert store.claim_registered(10) == []
    assert [e["status"] for e in store.model("m0")["history"]] == ["registered", "labeling"]
    assert store.model("gen")["status"] == "registered"

    for i in range(24):
        store.register(f"burst-{i:02d}", f"open_clip:a@/b/{i}.pt", "vlm", f"b{i}")
    with ThreadPoolExecutor(max_workers=3) as pool:
        takes = list(pool.map(lambda _: store.claim_registered(32), range(3)))
    taken = [name for take in takes for name in take]
    assert sorted(taken) == [f"burst-{i:02d}" for i in range(24)]  # each exactly once


def test_a_models_own_benchmark_rows_replace_its_document_rows_and_repeat_publishes_nothing(
    store,
):
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    document = {"summary": {}, "rows": [{"model": "vlm-a", "task": "t", "accuracy": 0.5}]}
    assert store.publish(Publication("doc", benchmarks={"transferability": document})) == 1
    assert store.benchmark_rows("vlm-a") == {"transferability": document["rows"]}
    assert store.benchmark_rows("vlm-b") == {}
    own = ModelRows("vlm-a", "transferability", ({"model": "vlm-a", "task": "t", "logme": 2.0},))
    assert store.publish(Publication("own", model_rows=(own,))) == 2
    assert store.publish(Publication("same again", model_rows=(own,))) == 2
    assert store.benchmark_rows("vlm-a") == {"transferability": list(own.rows)}
    with pytest.raises(RegistryError, match="publication holds benchmarks of"):
        store.publish(Publication("bad", model_rows=(ModelRows("vlm-a", "teapots", ()),)))
    with pytest.raises(UnknownModelError):
        store.publish(Publication("who", model_rows=(ModelRows("who", "transferability", ()),)))
    assert store.hub_version() == 2


def test_tuned_parameters_are_current_per_kind_and_a_repeat_publishes_nothing(store):
    pmi = PmiTuning(chosen_on="16 prompts", image_temperature=0.02, text_temperature=0.002,
                    bandwidth=0.001)  # fmt: skip
    choice = EncoderChoice(
        chosen_on="tuning", reference_encoder="vlm-a", style_weight=0.25, rkme_encoder="vlm-b"
    )
    assert store.publish(Publication("tuned", tuned=(pmi, choice))) == 1
    assert store.publish(Publication("again", tuned=(pmi, choice))) == 1  # nothing new
    retuned = pmi.model_copy(update={"bandwidth": 0.004})
    assert store.publish(Publication("retuned", tuned=(retuned, choice))) == 2
    hub = store.hub()
    assert hub.tuned == {"pmi": retuned, "encoders": choice}
    assert hub.tuned["pmi"].bandwidth == 0.004  # full precision, typed
    assert hub.accuracy_coefficients() is None
