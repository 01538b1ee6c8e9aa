from collections.abc import Sequence

import numpy as np
import pytest
import torch

from hubscout.data.world import render_all
from hubscout.models.base import Generator
from hubscout.starter.catalog import GENERATORS
from hubscout.starter.fidelity import (
    SYMBOLS,
    Fidelity,
    SymbolJudge,
    prompt_fidelity,
    real_accuracy,
    styled_scenes,
    train_judge,
)

RECIPES = {recipe.name: recipe for recipe in GENERATORS}


class OneImageGenerator(Generator):
    """Draws the same image whatever the prompt: a generator that ignores its prompts."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__("one-image", "hash", torch.device("cpu"))
        self.image = image

    def generate(self, prompts: Sequence[str], n: int, seed: int) -> np.ndarray:
        return np.broadcast_to(self.image, (len(prompts), n, *self.image.shape)).copy()


@pytest.fixture(scope="module")
def judge() -> SymbolJudge:
    recipes = [RECIPES["gen-dark"], RECIPES["gen-serif"]]
    return train_judge(recipes, seed=0, per_generator=300, steps=300)


def test_the_judge_reads_real_renders_of_the_styles_it_was_trained_on(judge):
    scenes = styled_scenes(RECIPES["gen-serif"], 0, "prompts", 200)
    read = judge.read(render_all(scenes, finish=RECIPES["gen-serif"].finish))
    truth = np.array([SYMBOLS.index(scene.symbol) for scene in scenes])
    assert np.mean(read == truth) > 0.8  # 0.94 here; chance is 1/30 on the 30 symbols


def test_a_generator_that_ignores_its_prompts_scores_the_share_of_its_one_symbol(judge):
    recipe = RECIPES["gen-dark"]
    image = render_all(styled_scenes(recipe, 5, "judge", 1), finish=recipe.finish)[0]
    drawn = judge.read(image[None])[0]
    scenes = styled_scenes(recipe, 0, "prompts", 120)
    expected = np.mean([SYMBOLS.index(scene.symbol) == drawn for scene in scenes])
    result = prompt_fidelity(OneImageGenerator(image), recipe, judge, seed=0, prompts=120)
    real = judge.read(render_all(scenes, finish=recipe.finish))
    truth = np.array([SYMBOLS.index(scene.symbol) for scene in scenes])
    assert result == Fidelity(samples=expected, real=float(np.mean(real == truth)))
    assert real_accuracy(judge, recipe, scenes) == result.real
    assert result.samples < 0.1 < result.real


def test_the_judge_is_trained_tuned_and_scored_on_three_disjoint_scene_sets():
    recipe = RECIPES["gen-light"]
    judged = {scene.seed for scene in styled_scenes(recipe, 0, "judge", 500)}
    tuned = {scene.seed for scene in styled_scenes(recipe, 0, "tuning", 240)}
    prompted = {scene.seed for scene in styled_scenes(recipe, 0, "prompts", 240)}
    assert not judged & prompted and not judged & tuned and not tuned & prompted
    assert all(scene.font == "serif" for scene in styled_scenes(RECIPES["gen-serif"], 0, "x", 20))
