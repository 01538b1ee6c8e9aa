"""Does a generator draw what its prompt names? The GAN-test accuracy of Shmelkov et al. 2018
("How good is my GAN?"): a classifier trained on real images reads the generated ones, and
the share it reads as the prompted symbol is the generator's fidelity.

The judge is one small CNN trained on real renders of every generator's own style and
finish, labelled by symbol (the 10 shapes and 20 characters), so that every generator is read
by the same instrument on images like the ones it was trained to draw. Beside each
generator's fidelity stands the judge's accuracy on real renders of the very scenes whose
captions were the prompts: the ceiling, what a perfect generator would score. A generator
that ignores the shape scores near 1/30.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hubscout.data.world import (
    CHARACTERS,
    SHAPES,
    Scene,
    caption,
    render_all,
    sample_scenes,
    stable_seed,
)
from hubscout.models.base import Generator, unit_pixels
from hubscout.starter.catalog import GeneratorRecipe

SYMBOLS = SHAPES + CHARACTERS
# Judge training, chosen on real renders of `tuning` scenes, never the reported `prompts`
# scenes nor a generator's samples (docs/decisions.md, The starter hub).
JUDGE_STEPS = 800
JUDGE_IMAGES_PER_GENERATOR = 500
JUDGE_BATCH = 64


@dataclass(frozen=True)
class Fidelity:
    """Share of a generator's samples read as the prompted symbol, and of real renders."""

    samples: float
    real: float


class SymbolJudge(nn.Module):
    """Three conv layers and a linear read-out over the 30 symbols, on [B, 3, S, S] in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),  # where the strokes are tells a 6 from a 9
            nn.Linear(128 * 4 * 4, len(SYMBOLS)),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)

    @torch.inference_mode()
    def read(self, images: np.ndarray) -> np.ndarray:
        """The symbol index read in each uint8 image [N, S, S, 3]."""
        return self.eval()(unit_pixels(images)).argmax(dim=1).numpy()


def styled_scenes(recipe: GeneratorRecipe, seed: int, purpose: str, n: int) -> list[Scene]:
    """`n` scenes of a generator's slice and style, drawn for `purpose`: judge (its
    training), tuning (its steps) or prompts (the reported fidelity)."""
    rng = np.random.default_rng(stable_seed(seed, recipe.name, "fidelity", purpose))
    return sample_scenes(rng, n, recipe.where, recipe.style)


def _labels(scenes: Sequence[Scene]) -> np.ndarray:
    return np.array([SYMBOLS.index(scene.symbol) for scene in scenes])


def real_accuracy(judge: SymbolJudge, recipe: GeneratorRecipe, scenes: Sequence[Scene]) -> float:
    """The share of real renders of `scenes`, in the style of `recipe`, the judge reads right."""
    read = judge.read(render_all(scenes, finish=recipe.finish))
    return float(np.mean(read == _labels(scenes)))


def train_judge(
    recipes: Sequence[GeneratorRecipe],
    seed: int,
    per_generator: int = JUDGE_IMAGES_PER_GENERATOR,
    steps: int = JUDGE_STEPS,
) -> SymbolJudge:
    """The judge, trained with Adam on real renders of every generator's style and finish."""
    images, labels = [], []
    for recipe in recipes:
        scenes = styled_scenes(recipe, seed, "judge", per_generator)
        images.append(render_all(scenes, finish=recipe.finish))
        labels.append(_labels(scenes))
    pixels = unit_pixels(np.concatenate(images))
    targets = torch.from_numpy(np.concatenate(labels))
    torch.manual_seed(seed)
    judge = SymbolJudge()
    optimizer = torch.optim.Adam(judge.parameters(), lr=2e-3)
    rng = np.random.default_rng(stable_seed(seed, "judge"))
    judge.train()
    for _ in range(steps):
        batch = torch.from_numpy(rng.choice(len(targets), size=JUDGE_BATCH, replace=False))
        loss = F.cross_entropy(judge(pixels[batch]), targets[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return judge.eval()


def prompt_fidelity(
    generator: Generator,
    recipe: GeneratorRecipe,
    judge: SymbolJudge,
    seed: int,
    prompts: int = 240,
) -> Fidelity:
    """Fidelity of the generator of `recipe`, one sample per prompt; the prompts are captions
    of fresh scenes of its slice, which are also rendered for the judge's ceiling."""
    scenes = styled_scenes(recipe, seed, "prompts", prompts)
    rng = np.random.default_rng(stable_seed(seed, recipe.name, "fidelity", "captions"))
    texts = [caption(scene, rng) for scene in scenes]
    samples = judge.read(generator.generate(texts, 1, seed=seed)[:, 0])
    return Fidelity(
        samples=float(np.mean(samples == _labels(scenes))),
        real=real_accuracy(judge, recipe, scenes),
    )
