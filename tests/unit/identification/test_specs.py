import numpy as np
import pytest

from hubscout.errors import ConfigError
from hubscout.identification.descriptor import style_embedding
from hubscout.identification.specs import (
    SPEC_FORMAT,
    GeneratorSpecification,
    build_spec,
    describe_images,
    render_prompts,
    spec_version,
    world_prompt_scenes,
    world_prompts,
)
from tests.conftest import load_hub_model


def test_world_prompts_are_distinct_and_repeatable():
    prompts = world_prompts(20, seed=0)
    assert len(set(prompts)) == 20 and prompts == world_prompts(20, seed=0)
    assert set(prompts) != set(world_prompts(20, seed=1))


def test_world_renders_of_prompts_show_the_prompted_scene_with_fresh_jitter():
    scenes = world_prompt_scenes(3, seed=0)
    assert list(scenes) == world_prompts(3, seed=0)
    chosen = list(scenes.values())
    images = render_prompts(chosen, 4, seed=0)
    assert images.shape == (3, 4, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, render_prompts(chosen, 4, seed=0))
    assert len({image.tobytes() for image in images[0]}) == 4  # each its own jitter
    assert not np.array_equal(images, render_prompts(chosen, 4, seed=1))


def test_a_spec_round_trips_through_disk(tmp_path, synthetic_specs):
    spec = synthetic_specs[0]["gen-1"]
    loaded = GeneratorSpecification.load(spec.save(tmp_path))
    assert loaded.prompts == spec.prompts and loaded.version == spec.version
    assert loaded.depends_on == spec.depends_on and loaded.style_weight == spec.style_weight
    np.testing.assert_array_equal(loaded.image_embeddings, spec.image_embeddings)
    with pytest.raises(ConfigError, match="run the identification stage"):
        GeneratorSpecification.load(tmp_path / "gen-9.spec.npz")


def test_a_spec_of_an_older_format_is_refused_with_what_to_do(tmp_path, synthetic_specs):
    path = synthetic_specs[0]["gen-1"].save(tmp_path)
    sidecar = path.with_suffix(".json")
    sidecar.write_text(sidecar.read_text().replace(SPEC_FORMAT, "generator-spec-v2"))
    with pytest.raises(ConfigError, match="dvc repro identification"):
        GeneratorSpecification.load(path)


def test_build_spec_describes_generated_images_and_embeds_prompts(starter_data_dir):
    generator, encoder = load_hub_model("starter:gen-dark"), load_hub_model("starter:vlm-colours")
    prompts = world_prompts(3, seed=0)
    spec = build_spec("gen-dark", generator, encoder, prompts, per_prompt=2, style_weight=0.25)
    images = generator.generate(prompts, 2, 0)
    vlm = encoder.encode_images(images.reshape(-1, 32, 32, 3))
    style = style_embedding(images.reshape(-1, 32, 32, 3))
    # the descriptor is [sqrt(0.75) * vlm, sqrt(0.25) * style], row by row
    expected = np.concatenate([np.sqrt(0.75) * vlm, 0.5 * style], axis=1).reshape(3, 2, -1)
    np.testing.assert_allclose(spec.image_embeddings, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(spec.image_embeddings, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(spec.prompt_embeddings, encoder.encode_texts(prompts), atol=1e-6)
    np.testing.assert_allclose(describe_images(encoder, images, 0.25), expected, atol=1e-6)
    assert spec.style_weight == 0.25
    assert spec.version == spec_version(generator.content_hash, encoder, 0.25, prompts)
    assert spec.depends_on == {
        "generator_hash": generator.content_hash,
        "encoder": "starter:vlm-colours",
        "encoder_hash": encoder.content_hash,
    }
    versions = {
        spec_version(generator.content_hash, encoder, 0.25, prompts[:2]),
        spec_version(generator.content_hash, encoder, 0.5, prompts),
        spec_version("another generator", encoder, 0.25, prompts),
    }
    assert spec.version not in versions and len(versions) == 3
