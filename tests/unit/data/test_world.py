import numpy as np
import pytest

from hubscout.data.world import (
    CHARACTERS,
    COLOURS,
    PLAIN,
    SHAPES,
    Finish,
    Scene,
    Style,
    caption,
    font_files,
    prompt_vocabulary,
    render,
    render_all,
    sample_scenes,
    stable_seed,
)
from hubscout.models.conditional import PromptEncoder


def test_the_world_has_enough_concepts():
    assert len(SHAPES) >= 8 and len(COLOURS) >= 10 and len(CHARACTERS) == 20


def test_fonts_come_from_matplotlib_in_several_families():
    files = font_files()
    assert set(files) == {"sans", "serif", "mono"}
    assert all(paths for paths in files.values())
    assert len({str(p) for paths in files.values() for p in paths}) >= 3


def test_rendering_is_deterministic_and_sized():
    scene = sample_scenes(np.random.default_rng(0), 1)[0]
    first, second = render(scene), render(scene)
    assert first.dtype == np.uint8 and first.shape == (32, 32, 3)
    np.testing.assert_array_equal(first, second)
    assert render(scene, image_size=48).shape == (48, 48, 3)


def test_constraints_and_styles_are_obeyed():
    rng = np.random.default_rng(1)
    scenes = sample_scenes(rng, 50, {"colour": ("navy", "olive"), "kind": "shape"}, Style("dark"))
    assert {s.colour for s in scenes} <= {"navy", "olive"}
    assert {s.kind for s in scenes} == {"shape"} and {s.background for s in scenes} == {"dark"}
    characters = sample_scenes(rng, 20, {"symbol": "K"})
    assert all(s.kind == "character" and s.pattern == "solid" for s in characters)


def test_colours_render_as_their_colour():
    rng = np.random.default_rng(2)
    base = {"symbol": "square", "size": "large", "pattern": "solid", "background": "light"}
    red = render_all(sample_scenes(rng, 10, {**base, "colour": "red"}))
    blue = render_all(sample_scenes(rng, 10, {**base, "colour": "blue"}))
    centre = (slice(None), slice(12, 20), slice(12, 20))
    assert red[centre][..., 0].mean() > 150 > blue[centre][..., 0].mean()
    assert blue[centre][..., 2].mean() > 150 > red[centre][..., 2].mean()


def test_dark_and_light_styles_differ():
    dark = render_all(sample_scenes(np.random.default_rng(3), 10, {"size": "small"}, Style("dark")))
    light = render_all(
        sample_scenes(np.random.default_rng(3), 10, {"size": "small"}, Style("light"))
    )
    assert dark[:, 0, :].mean() < 60 < 180 < light[:, 0, :].mean()


def test_a_finish_changes_only_how_a_scene_is_drawn():
    base = {"symbol": "square", "size": "large", "pattern": "solid", "colour": "red"}
    scenes = sample_scenes(np.random.default_rng(5), 6, base, Style("gray"))
    plain = render_all(scenes)
    np.testing.assert_array_equal(plain, render_all(scenes, finish=PLAIN))
    red = np.abs(plain.astype(int) - (215, 35, 35)).sum(-1) < 90
    # outlined: the red pixels are a rim, a fraction of the filled square's
    outline = render_all(scenes, finish=Finish(stroke="outline"))
    rim = np.abs(outline.astype(int) - (215, 35, 35)).sum(-1) < 90
    assert rim.sum() < 0.5 * red.sum() and rim.sum() > 0
    # pixelated: constant over 2 x 2 blocks
    blocks = render_all(scenes, finish=Finish(rendering="pixelated"))
    np.testing.assert_array_equal(blocks[:, ::2, ::2], blocks[:, 1::2, 1::2])
    # a gradient background: darker at the top than at the bottom by ~90 levels
    graded = render_all(scenes, finish=Finish(texture="gradient")).astype(float)
    assert 60 < graded[:, -1, :].mean() - graded[:, 0, :].mean() < 100
    # centred and upright: the square's red pixels balance on the image's centre
    centred = render_all(scenes, finish=Finish(layout="centred"))
    ys, xs = np.nonzero(np.abs(centred[0].astype(int) - (215, 35, 35)).sum(-1) < 90)
    assert abs(ys.mean() - 15.5) < 1 and abs(xs.mean() - 15.5) < 1
    with pytest.raises(ValueError, match="use one of plain, grain"):
        Finish(texture="marble")


def test_captions_name_the_scene_with_synonyms():
    scene = Scene("shape", "ring", "crimson", "striped", "small", "gray", "sans", "standard", 0)
    rng = np.random.default_rng(4)
    captions = {caption(scene, rng) for _ in range(60)}
    assert any("maroon" in c or "dark red" in c for c in captions)
    assert any("annulus" in c or "ring-shaped" in c for c in captions)
    colourless = caption(scene, rng, mention=("symbol",))
    assert not any(word in colourless for word in ("crimson", "maroon", "dark red"))


def test_prompt_vocabulary_reads_captions_back():
    tokens, phrases = prompt_vocabulary()
    encoder = PromptEncoder(tokens, phrases)
    vector = encoder(["a tiny dark red polka-dot annulus", "number seven", "capital k"])
    active = [{tokens[i] for i in np.flatnonzero(row)} for row in vector.numpy()]
    assert active[0] == {"small", "crimson", "dotted", "ring"}
    assert active[1] == {"7"} and active[2] == {"K"}


def test_stable_seed_is_stable():
    assert stable_seed(0, "probe", "red") == stable_seed(0, "probe", "red")
    assert stable_seed(0, "probe", "red") != stable_seed(1, "probe", "red")
