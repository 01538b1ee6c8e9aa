import shutil

import numpy as np
import torch

from hubscout.data.store import World
from hubscout.data.world import COLOURS, render_all, sample_scenes
from hubscout.models import load_model
from hubscout.models.cards import read_card
from hubscout.models.starter_loader import read_manifest
from hubscout.starter.build import (
    HubParams,
    build_model,
    checkpoint_path,
    expected_seconds,
    longest_first,
)
from hubscout.starter.catalog import ClassifierRecipe, GeneratorRecipe, VLMRecipe
from hubscout.starter.evaluation import zero_shot_accuracy
from tests.conftest import TINY_HUB, load_hub_model


def test_the_tiny_profile_builds_two_models_of_each_kind_with_no_timings_in_its_files(
    tiny_world, tiny_hub
):
    hub, built = tiny_hub
    kinds = [card.kind for _, card, _ in built.values()]
    assert sorted(kinds) == ["classifier"] * 2 + ["generator"] * 2 + ["vlm"] * 2
    written = [tiny_world / "world.json", *sorted(hub.glob("*/*.card.json"))]
    assert len(written) == 7
    assert not [path.name for path in written if "seconds" in path.read_text()]


def test_vlms_beat_chance_on_their_own_slice(tiny_hub, starter_data_dir):
    _, built = tiny_hub
    colours = list(COLOURS)
    for name, (recipe, _, _) in built.items():
        if not isinstance(recipe, VLMRecipe):
            continue
        rng = np.random.default_rng(123)
        scenes = sample_scenes(rng, 120, recipe.where)
        labels = np.array([colours.index(s.colour) for s in scenes])
        model = load_hub_model(f"starter:{name}")
        accuracy = zero_shot_accuracy(model, colours, render_all(scenes), labels)
        assert accuracy >= 2 / len(colours), (name, accuracy)


def test_classifiers_beat_chance_on_their_own_slice(tiny_hub, starter_data_dir):
    _, built = tiny_hub
    for name, (recipe, _, _) in built.items():
        if not isinstance(recipe, ClassifierRecipe):
            continue
        rng = np.random.default_rng(7)
        scenes = sample_scenes(rng, 200, {recipe.label: recipe.classes})
        labels = np.array([recipe.classes.index(getattr(s, recipe.label)) for s in scenes])
        probabilities = load_hub_model(f"starter:{name}").predict_proba(render_all(scenes))
        accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
        assert accuracy >= 2 / len(recipe.classes), (name, accuracy)


def test_generators_follow_their_style(tiny_hub, starter_data_dir):
    _, built = tiny_hub
    assert {n for n, (recipe, _, _) in built.items() if isinstance(recipe, GeneratorRecipe)} == {
        "gen-dark",
        "gen-light",
    }
    corner = (slice(None), slice(None), slice(0, 3), slice(0, 3))
    prompts = ["a large red square", "digit 7"]
    dark = load_hub_model("starter:gen-dark").generate(prompts, 16, seed=0)
    light = load_hub_model("starter:gen-light").generate(prompts, 16, seed=0)
    assert dark.shape == light.shape == (2, 16, 32, 32, 3)
    assert dark[corner].mean() < 80 and light[corner].mean() > 170
    np.testing.assert_array_equal(
        dark, load_hub_model("starter:gen-dark").generate(prompts, 16, seed=0)
    )


def test_checkpoints_reload_through_their_uri_with_identical_outputs(tiny_hub, starter_data_dir):
    hub, built = tiny_hub
    images = render_all(sample_scenes(np.random.default_rng(9), 8))
    manifest = {entry.name: entry for entry in read_manifest(hub / "manifest.json").models}
    assert set(manifest) == set(built)
    assert (manifest["gen-light"].scheme, manifest["gen-dark"].scheme) == ("cvae", "flow")
    for name, (_, card, module) in built.items():
        loaded = load_hub_model(f"starter:{name}")
        assert card.source == f"starter:{name}"
        entry = manifest[name]
        direct = load_model(f"{entry.scheme}:{entry.architecture}@{hub / entry.checkpoint}")
        assert direct.content_hash == loaded.content_hash
        with torch.inference_mode():
            if card.kind == "generator":  # a cvae and a flow: the same samples, seed for seed
                condition = loaded.prompt_encoder(["a red circle", "digit 3"])
                expected = module.sample(condition, torch.Generator().manual_seed(0))
                got = loaded.module.sample(condition, torch.Generator().manual_seed(0))
                torch.testing.assert_close(got, expected, rtol=0, atol=0)
            elif card.kind == "vlm":
                pixels = loaded.preprocessing.apply(images, torch.device("cpu"))
                torch.testing.assert_close(
                    loaded.module.encode_image(pixels), module.encode_image(pixels), rtol=0, atol=0
                )
            else:
                pixels = loaded.preprocessing.apply(images, torch.device("cpu"))
                torch.testing.assert_close(loaded.module(pixels), module(pixels), rtol=0, atol=0)


def test_a_saved_model_is_reused_and_changed_parameters_retrain(tiny_world, tiny_hub, tmp_path):
    hub = tmp_path / "hub"
    shutil.copytree(tiny_hub[0], hub)
    built = tiny_hub[1]
    recipe, card, _ = built["clf-patterns"]
    again, module = build_model(recipe, World(tiny_world), TINY_HUB, hub)
    assert module is None and again == card
    assert read_card(checkpoint_path(hub, recipe)).training_fingerprint == card.training_fingerprint
    changed = HubParams(**{**TINY_HUB.model_dump(), "seed": 1, "step_scale": 0.05})
    retrained, module = build_model(recipe, World(tiny_world), changed, hub)
    assert module is not None and retrained.training_fingerprint != card.training_fingerprint


def test_canonical_safetensors_gives_one_byte_sequence_for_any_header_order(tmp_path):
    import json

    from safetensors.numpy import load_file, save_file

    from hubscout.starter.build import canonical_safetensors

    tensors = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(4, np.int64)}
    metadata = {f"key{i}": f"value {i}" for i in range(12)}
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    save_file(tensors, str(first), metadata=metadata)
    raw = first.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    reordered = {k: header[k] for k in reversed(list(header))}  # the same header, other order
    reordered["__metadata__"] = dict(reversed(list(header["__metadata__"].items())))
    text = json.dumps(reordered).encode()
    text += b" " * (-len(text) % 8)
    second.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size :])
    assert first.read_bytes() != second.read_bytes()
    canonical_safetensors(first)
    canonical_safetensors(second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_file(str(first))
    np.testing.assert_array_equal(loaded["b"], tensors["b"])
    np.testing.assert_array_equal(loaded["a"], tensors["a"])


def test_the_full_hub_trains_the_flows_first_and_the_classifiers_last():
    params = HubParams(profile="full")
    order = [recipe.name for recipe in longest_first(params.recipes(), params)]
    assert order[:2] == ["gen-dark", "gen-serif"]  # 1000 steps x 0.100 s
    assert set(order[-6:]) == {s.name for s in params.recipes() if s.name.startswith("clf-")}
    generalist = next(s for s in params.recipes() if s.name == "vlm-generalist")
    assert expected_seconds(generalist, params) == 2000 * 0.035 + 400 * 0.027
    half = HubParams(profile="full", step_scale=0.5)
    assert expected_seconds(generalist, half) == 1000 * 0.035 + 200 * 0.027


def test_the_fidelity_judge_trains_800_steps_for_the_full_hub_and_100_for_the_tiny_one():
    assert HubParams(profile="full").judge_steps() == 800
    assert HubParams(profile="full", step_scale=0.5).judge_steps() == 400
    assert HubParams(profile="tiny").judge_steps() == 100
