"""on_model_registered labels the model it is given under the model's labeling slot; relabel
picks all, stale or named models of a registry that already holds the labeled tiny hub."""

import shutil
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client

from flows.on_model_registered import (
    model_slot_name,
    models_to_relabel,
    on_model_registered,
    relabel,
)
from flows.process_registered import WAITING_FOR_REFERENCE
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.identification.rkme import fit_rkme, median_gamma
from hubscout.identification.specs import build_spec, world_prompts
from hubscout.models import load_model
from hubscout.models.cards import ModelCard, write_card
from hubscout.params import IdentificationParams, read_section
from hubscout.settings import Settings
from hubscout.transferability.hub import benchmark_task
from registry.errors import UnknownModelError
from registry.publication import Publication, generator_publication, rkme_publication
from registry.store import RegistryStore
from tasks.identification import pool_gamma
from tests.conftest import TINY_CLIP_ARCH, load_hub_model, register_checkpoint


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
        labeled = sorted(m["model_id"] for m in store.models(status="ready"))
        generators = sorted(m["model_id"] for m in store.models(kind="generator"))
        retired = labeled.pop()
        store.retire(retired)
    finally:
        store.close()
    assert len(labeled) >= 3 and len(generators) >= 2
    # every ready label was made on this world's graph: only the new model and the
    # generators without a specification are stale
    assert models_to_relabel("stale", settings) == sorted([*generators, "my-clip"])
    assert models_to_relabel("all", settings) == sorted([*labeled, *generators, "my-clip"])
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
    # the run takes every waiting model: the tiny hub's generators too, which go back to
    # registered, saying that they wait for a reference encoder
    summary = on_model_registered("my-clip")
    waits = [WAITING_FOR_REFERENCE]
    assert summary == {
        "processed": ["my-clip"],
        "failed": {},
        "hub_version": 2,
        "notes": {
            "my-clip": ["no RKME spec: no RKME encoder is published yet"],
            "gen-dark": waits,
            "gen-light": waits,
        },
    }
    store = RegistryStore(hub_with_new_clip.registry_database_url)
    try:
        model = store.model("my-clip")
        generator = store.model("gen-dark")
    finally:
        store.close()
    assert (generator["status"], generator["status_reason"]) == ("registered", waits[0])
    assert [e["status"] for e in generator["history"]] == ["registered", "labeling", "registered"]
    assert model["status"] == "ready" and len(model["label_versions"]) == 1
    assert [e["status"] for e in model["history"]] == ["registered", "labeling", "ready"]
    with get_client(sync_client=True) as client:
        slot = client.read_global_concurrency_limit_by_name(model_slot_name("my-clip"))
    assert (slot.limit, slot.active_slots) == (1, 0)  # taken during the run, released after
    # a second event for a model that is ready already does nothing (no MLflow run either);
    # the generators wait for a reference encoder, without failing
    assert on_model_registered("my-clip") == {
        "processed": [], "failed": {}, "hub_version": 2, "notes": {}
    }  # fmt: skip
    stale = relabel("stale")
    assert stale["processed"] == [] and stale["hub_version"] == 2
    assert sorted(stale["notes"]) == models_to_relabel("stale", hub_with_new_clip)

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
    assert validation == {"suite": "my-clip", "evaluated": 7, "failed": []}
    # MLflow's Model Registry: the model it labeled, one version for its weights
    registered = {m.name: m for m in client.search_registered_models()}
    assert list(registered) == ["my-clip"]
    assert registered["my-clip"].tags["status"] == "ready"
    assert registered["my-clip"].tags["label_version"] == model["label_version"]
    [version] = client.search_model_versions("name='my-clip'")
    assert version.tags["content_hash"] == model["content_hash"]
    assert version.source == f"hubscout://models/my-clip/{model['content_hash']}"
    assert version.tags["source"] == model["source"]


@pytest.fixture
def hub_with_reference(hub_with_new_clip) -> Settings:
    """hub_with_new_clip where gen-light's spec, described by vlm-colours at style weight
    0.25, and vlm-colours' RKME spec, embedded by itself, are published (so vlm-colours is
    the hub's encoder of both kinds), and where my-clip's card names a training sample: 300
    images of the world's pool."""
    settings = hub_with_new_clip
    params = read_section(Path("params.yaml"), "identification", IdentificationParams)
    encoder = load_hub_model("starter:vlm-colours")
    prompts = world_prompts(params.spec_prompts, params.seed)
    spec = build_spec(
        "gen-light", load_hub_model("starter:gen-light"), encoder, prompts, params.per_prompt, 0.25
    )
    world = World(settings.layout.world)
    gamma = pool_gamma(encoder, world, params.seed)
    own = fit_rkme(encoder.encode_images(world.pool_images[300:500]), params.rkme_points, gamma)
    store = RegistryStore(settings.registry_database_url)
    try:
        published = (
            generator_publication(spec, "vlm-colours"),
            rkme_publication("vlm-colours", own, "vlm-colours"),
        )
        store.publish(Publication("reference", specs=published))
    finally:
        store.close()
    checkpoint = settings.data_dir / "my-clip.pt"
    images = world.pool_images[:300]
    np.savez(settings.data_dir / "my-clip-sample.npz", images=images)
    card = ModelCard(
        name="my-clip",
        kind="vlm",
        architecture=TINY_CLIP_ARCH,
        source=f"open_clip:{TINY_CLIP_ARCH}@{checkpoint}",
        training_sample="my-clip-sample.npz",
    )
    write_card(checkpoint, card)
    return settings


def test_a_registered_vlm_and_generator_are_specified_and_scored_and_kept_in_cache(
    hub_with_reference, ray_cluster
):
    settings = hub_with_reference
    params = read_section(Path("params.yaml"), "identification", IdentificationParams)
    # my-clip's run takes gen-dark too, which waited since the tiny hub was registered;
    # gen-dark's own event then finds nothing left to take and returns without a slot
    first = on_model_registered("my-clip")
    assert first["processed"] == ["gen-dark", "my-clip"]
    assert first["notes"] == {} and first["failed"] == {}
    generator = on_model_registered("gen-dark")
    assert generator == {
        "processed": [], "failed": {}, "hub_version": first["hub_version"], "notes": {}
    }  # fmt: skip

    store = RegistryStore(settings.registry_database_url)
    try:
        hub = store.hub()
        model = store.model("my-clip")
        rows = store.benchmark_rows("my-clip")["transferability"]
    finally:
        store.close()
    assert hub.models["gen-dark"].status == "ready" and hub.reference_encoder == "vlm-colours"
    assert hub.rkme_encoder == "vlm-colours"
    assert [(s["spec_kind"], s["encoder"]) for s in model["specifications"]] == [
        ("rkme", "vlm-colours")
    ]
    # the RKME spec: the RKME encoder's embedding of the card's sample, fitted with the
    # identification parameters and the bandwidth of the hub's RKME specs (drawn from the
    # world's pool)
    encoder = load_hub_model("starter:vlm-colours")
    world = World(settings.layout.world)
    pool = world.pool_images
    draw = np.random.default_rng(params.seed).choice(len(pool), min(500, len(pool)), False)
    gamma = median_gamma(encoder.encode_images(pool[draw]))
    sample = encoder.encode_images(pool[:300])
    expected = fit_rkme(sample, params.rkme_points, gamma, params.seed)
    np.testing.assert_allclose(hub.rkme_specs["my-clip"].points, expected.points, rtol=1e-6)
    np.testing.assert_allclose(hub.rkme_specs["my-clip"].weights, expected.weights, atol=1e-12)
    # the generator's spec: its images of the spec prompts, described by the reference
    # encoder at the style weight of the hub's published generator specs
    prompts = world_prompts(params.spec_prompts, params.seed)
    wanted = build_spec(
        "gen-dark", load_hub_model("starter:gen-dark"), encoder, prompts, params.per_prompt, 0.25
    )
    assert hub.generator_specs["gen-dark"].style_weight == 0.25
    np.testing.assert_allclose(
        hub.generator_specs["gen-dark"].image_embeddings, wanted.image_embeddings, rtol=1e-5
    )
    # transferability rows: every world task, the linear probe and the per-model metrics,
    # equal to what the benchmark computes for the model on that task
    assert [row["task"] for row in rows] == world.tasks["task"].to_list()
    assert not {"etran", "ncti"} & set(rows[0])  # pool-relative: left to the benchmark
    task = rows[-1]["task"]
    clip = load_model(hub.models["my-clip"].source)
    scores, truth = benchmark_task(world, task, {"my-clip": clip}, settings.cache_dir, ["logme"])
    assert rows[-1]["logme"] == pytest.approx(scores["score"][0], rel=1e-9)
    assert rows[-1]["accuracy"] == pytest.approx(truth["accuracy"][0])

    # processed again: everything comes from the caches, nothing is published
    specs, rows = settings.layout.specs, settings.cache_dir / "registered" / "rows"
    cached = sorted(path for root in (specs, rows) for path in root.rglob("*") if path.is_file())
    stamps = [path.stat().st_mtime_ns for path in cached]
    stored = {path.relative_to(specs).parts[0] for path in cached if path.is_relative_to(specs)}
    assert stored == {"generators", "rkme"} and any(p.is_relative_to(rows) for p in cached)
    again = relabel("my-clip")
    assert again["hub_version"] == generator["hub_version"] and again["notes"] == {}
    assert [path.stat().st_mtime_ns for path in cached] == stamps
