"""The per-model job's pieces: which metrics score a model alone, an empty batch that starts
no Ray, a stale stage spec, and a checkpoint changed after registration. The jobs themselves
run in tests/flows/test_on_model_registered.py and tests/flows/test_process_registered.py."""

import json

import numpy as np

from hubscout.identification.specs import spec_version, world_prompts
from hubscout.params import IdentificationParams
from hubscout.settings import Settings
from hubscout.tuning import EncoderChoice
from registry.sources import check_source
from tasks.registered import (
    GeneratorReference,
    RegisteredJob,
    _process,
    per_model_metrics,
    process_registered,
)
from tests.conftest import load_hub_model

CHOICE = EncoderChoice(
    chosen_on="t", reference_encoder="vlm-colours", style_weight=0.0, rkme_encoder="vlm-colours"
)


def test_pool_relative_metrics_are_left_to_the_benchmark():
    assert per_model_metrics(["logme", "etran", "sfda", "ncti", "knn"]) == ("logme", "sfda", "knn")


def test_an_empty_batch_returns_nothing_without_starting_ray():
    import ray

    assert process_registered.fn([]) == [] and not ray.is_initialized()


def test_a_stage_spec_of_an_older_format_is_rebuilt_not_a_failure(fresh_data_dir):
    settings = Settings()
    stage = settings.layout.identification / "generators"
    stage.mkdir(parents=True)
    np.savez(stage / "gen-dark.spec.npz", images=np.zeros((1, 1, 4)))
    (stage / "gen-dark.spec.json").write_text(json.dumps({"format": "generator-spec-v2"}))
    params = IdentificationParams(spec_prompts=2, per_prompt=2)
    digest = check_source("starter:gen-dark", [], settings.layout.hub_manifest).content_hash
    job = RegisteredJob(
        "gen-dark", "starter:gen-dark", "generator", digest, settings,
        GeneratorReference("vlm-colours", "starter:vlm-colours", 0.0), None, CHOICE, params,
        (), 0,
    )  # fmt: skip
    result = _process(job)
    assert result.failure is None
    prompts = world_prompts(2, params.seed)
    encoder = load_hub_model("starter:vlm-colours")
    expected = spec_version(load_hub_model("starter:gen-dark").content_hash, encoder, 0.0, prompts)
    assert result.spec.version == expected and result.spec.encoder == "vlm-colours"


def test_a_checkpoint_changed_or_re_pointed_after_registration_fails_its_model(
    tiny_clip, tmp_path, monkeypatch
):
    root, outside = tmp_path / "models", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    weights = outside / "tiny.pt"
    weights.write_bytes(tiny_clip[1].read_bytes())
    (root / "link").symlink_to(outside)  # inside the roots when registered ...
    monkeypatch.setenv("HUBSCOUT_REGISTRY_SOURCE_ROOTS", f'["{root}", "{outside}"]')
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    registered = check_source(
        f"open_clip:hs-vit-w64-p8@{root / 'link' / 'tiny.pt'}", [root, outside], tmp_path
    )
    assert registered.source == f"open_clip:hs-vit-w64-p8@{weights}"  # stored resolved

    def job(source, digest):
        return RegisteredJob(
            "clip", source, "vlm", digest, settings, None, None, None, IdentificationParams(),
            (), 0,
        )  # fmt: skip

    weights.write_bytes(tiny_clip[1].read_bytes() + b"tampered")
    changed = _process(job(registered.source, registered.content_hash)).failure
    assert changed.startswith("SourceChangedError: the weights of open_clip:hs-vit-w64-p8@")
    assert f"(hash {registered.content_hash[:12]} -> " in changed
    monkeypatch.setenv("HUBSCOUT_REGISTRY_SOURCE_ROOTS", f'["{root}"]')  # ... and no longer
    narrowed = Settings()
    outside_roots = RegisteredJob(
        "clip", registered.source, "vlm", registered.content_hash, narrowed, None, None, None,
        IdentificationParams(), (), 0,
    )  # fmt: skip
    assert _process(outside_roots).failure.startswith("SourceOutsideRootsError: checkpoint ")
