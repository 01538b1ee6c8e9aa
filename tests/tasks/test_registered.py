"""The per-model job's pieces: which metrics score a model alone, an empty batch that starts
no Ray, a spec found in the spec store, and a checkpoint changed after registration. The jobs
themselves run in tests/flows/test_on_model_registered.py and
tests/flows/test_process_registered.py."""

import numpy as np

from hubscout.identification.specs import GeneratorSpecification, spec_version, world_prompts
from hubscout.identification.store import generator_spec_path
from hubscout.params import IdentificationParams
from hubscout.settings import Settings
from registry.sources import check_source
from tasks.registered import (
    GeneratorReference,
    RegisteredJob,
    _process,
    per_model_metrics,
    process_registered,
)
from tests.conftest import load_hub_model


def test_pool_relative_metrics_are_left_to_the_benchmark():
    assert per_model_metrics(["logme", "etran", "sfda", "ncti", "knn"]) == ("logme", "sfda", "knn")


def test_an_empty_batch_returns_nothing_without_starting_ray():
    import ray

    assert process_registered.fn([]) == [] and not ray.is_initialized()


def test_a_generator_spec_in_the_spec_store_is_read_not_rebuilt(fresh_data_dir):
    settings = Settings()
    params = IdentificationParams(spec_prompts=2, per_prompt=2)
    prompts = world_prompts(2, params.seed)
    encoder = load_hub_model("starter:vlm-colours")
    generator_hash = load_hub_model("starter:gen-dark").content_hash
    # what the identification stage left for this generator, encoder and style weight:
    # descriptors no generation would make, so that reading it is told from rebuilding it
    texts = encoder.encode_texts(prompts).astype(np.float32)
    left = GeneratorSpecification(
        "gen-dark", tuple(prompts), np.full((2, 1, texts.shape[1]), 0.5, np.float32), texts,
        spec_version(generator_hash, encoder, 0.0, prompts), {}, 0.0,
    )  # fmt: skip
    left.save(generator_spec_path(settings.layout.specs, "gen-dark", left.version).parent)
    digest = check_source("starter:gen-dark", [], settings.layout.hub_manifest).content_hash

    def job(style_weight: float) -> RegisteredJob:
        reference = GeneratorReference("vlm-colours", "starter:vlm-colours", style_weight)
        return RegisteredJob(
            "gen-dark", "starter:gen-dark", "generator", digest, settings, reference, None,
            params, (), 0,
        )  # fmt: skip

    found = _process(job(0.0))
    assert found.failure is None and found.spec.version == left.version
    np.testing.assert_array_equal(found.spec.arrays["images"], left.image_embeddings)
    built = _process(job(0.5))  # another style weight: another spec, built and stored
    assert built.spec.version == spec_version(generator_hash, encoder, 0.5, prompts)
    assert built.spec.arrays["images"].shape[:2] == (2, 2)  # 2 prompts x per_prompt images
    stored = generator_spec_path(settings.layout.specs, "gen-dark", built.spec.version)
    assert GeneratorSpecification.load(stored).version == built.spec.version


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
            "clip", source, "vlm", digest, settings, None, None, IdentificationParams(), (), 0,
        )  # fmt: skip

    weights.write_bytes(tiny_clip[1].read_bytes() + b"tampered")
    changed = _process(job(registered.source, registered.content_hash)).failure
    assert changed.startswith("SourceChangedError: the weights of open_clip:hs-vit-w64-p8@")
    assert f"(hash {registered.content_hash[:12]} -> " in changed
    monkeypatch.setenv("HUBSCOUT_REGISTRY_SOURCE_ROOTS", f'["{root}"]')  # ... and no longer
    narrowed = Settings()
    outside_roots = RegisteredJob(
        "clip", registered.source, "vlm", registered.content_hash, narrowed, None, None,
        IdentificationParams(), (), 0,
    )  # fmt: skip
    assert _process(outside_roots).failure.startswith("SourceOutsideRootsError: checkpoint ")
