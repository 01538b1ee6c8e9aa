"""Training loops of the starter hub: pure compute, seeded, returning the trained modules.

VLMs learn with open_clip's ClipLoss on (image, caption) pairs of their slice; classifiers
with cross-entropy on their source labels; generators as conditional VAEs on images rendered
in their style. Nothing here writes files; `hubscout.starter.build` saves the results.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import open_clip
import polars as pl
import timm
import torch
import torch.nn.functional as F
from torch import nn

from hubscout.data.store import World
from hubscout.data.world import (
    Scene,
    caption,
    prompt_vocabulary,
    render_all,
    sample_scenes,
    stable_seed,
)
from hubscout.models.base import Preprocessing
from hubscout.models.cvae import ConditionalVAE, PromptEncoder, read_config
from hubscout.models.open_clip_loader import create_untrained, register_configs
from hubscout.starter.catalog import ClassifierSpec, GeneratorSpec, VLMSpec

KL_WEIGHT = 1.0
FACET_KEEP = 0.5
HARD_BATCH_SHARE = 0.5
CLASSIFIER_PREPROCESSING = Preprocessing(
    image_size=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
)


@dataclass
class Trained:
    """A trained module and what its training did."""

    module: nn.Module
    seconds: float
    first_loss: float
    last_loss: float
    examples: int


def _slice(world: World, where: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Indices of the pool scenes matching `where`."""
    scenes = world.pool_scenes.with_row_index("index")
    for column, values in where.items():
        scenes = scenes.filter(pl.col(column).is_in(list(values)))
    return scenes["index"].to_numpy()


def _scenes(world: World, indices: np.ndarray) -> list[Scene]:
    rows = world.pool_scenes[indices].drop("index", strict=False).to_dicts()
    return [Scene(**row) for row in rows]


def _schedule(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    warmup = max(steps // 10, 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(steps - warmup, 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _optimise(
    module: nn.Module,
    steps: int,
    lr: float,
    weight_decay: float,
    step_loss: Callable[[int], tuple[torch.Tensor, float]],
    examples: int,
) -> Trained:
    """AdamW with warm-up and cosine decay; `step_loss(step)` returns (loss, value to log)."""
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = _schedule(optimizer, steps)
    module.train()
    logged = []
    start = time.perf_counter()
    for step in range(steps):
        loss, value = step_loss(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        logged.append(value)
    module.eval()
    seconds = time.perf_counter() - start
    return Trained(module, seconds, logged[0], float(np.mean(logged[-10:])), examples)


def _grayscale(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.mean(dim=1, keepdim=True).expand_as(pixels).contiguous()


def _some_facets(facets: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
    """A random non-empty subset of the facets: captions vary in detail, as real ones do."""
    chosen = tuple(f for f in facets if rng.random() < FACET_KEEP)
    return chosen or (facets[int(rng.integers(len(facets)))],)


def _facet_groups(scenes: list[Scene], facets: tuple[str, ...]) -> list[np.ndarray]:
    """Indices of the scenes sharing one value of one facet (e.g. every crimson scene)."""
    groups = []
    for facet in facets:
        values = np.array([getattr(scene, facet) for scene in scenes])
        groups += [np.flatnonzero(values == value) for value in np.unique(values)]
    return [group for group in groups if len(group) >= 8]


def _contrastive_batch(
    groups: list[np.ndarray], n: int, batch_size: int, rng: np.random.Generator
) -> np.ndarray:
    """A random batch, or (half the time) one whose scenes share a facet value, so that the
    loss can only be lowered by telling apart the other facets (hard negatives)."""
    if groups and rng.random() < HARD_BATCH_SHARE:
        group = groups[int(rng.integers(len(groups)))]
        return rng.choice(group, size=min(batch_size, len(group)), replace=False)
    return rng.choice(n, size=min(batch_size, n), replace=False)


def train_vlm(spec: VLMSpec, world: World, seed: int, steps: int, batch_size: int = 64) -> Trained:
    """Train a tiny open_clip model with ClipLoss on its slice of the pool."""
    register_configs()
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, spec.name))
    indices = _slice(world, spec.where)
    scenes = _scenes(world, indices)
    images = world.pool_images[indices]
    module = create_untrained(spec.architecture)
    tokenizer = open_clip.get_tokenizer(spec.architecture)
    config = module.visual.preprocess_cfg
    preprocessing = Preprocessing(32, tuple(config["mean"]), tuple(config["std"]))
    loss_fn = open_clip.ClipLoss()
    groups = _facet_groups(scenes, spec.mention)

    def step_loss(_: int) -> tuple[torch.Tensor, float]:
        batch = _contrastive_batch(groups, len(scenes), batch_size, rng)
        pixels = preprocessing.apply(images[batch], torch.device("cpu"))
        if spec.grayscale:
            pixels = _grayscale(pixels)
        texts = [caption(scenes[i], rng, _some_facets(spec.mention, rng)) for i in batch]
        image_features, text_features, scale = module(pixels, tokenizer(texts))[:3]
        loss = loss_fn(image_features, text_features, scale)
        return loss, loss.item()

    return _optimise(module, steps, 2e-3, 0.05, step_loss, len(scenes))


def classifier_data(spec: ClassifierSpec, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Pool images of the classifier's slice and their labels (index into spec.classes)."""
    scenes = world.pool_scenes.with_row_index("index").filter(
        pl.col(spec.label).is_in(list(spec.classes))
    )
    lookup = {name: i for i, name in enumerate(spec.classes)}
    labels = np.array([lookup[v] for v in scenes[spec.label]], dtype=np.int64)
    return world.pool_images[scenes["index"].to_numpy()], labels


def train_classifier(
    spec: ClassifierSpec, world: World, seed: int, steps: int, batch_size: int = 64
) -> Trained:
    """Train a timm classifier with cross-entropy on its source labels."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, spec.name))
    images, labels = classifier_data(spec, world)
    module = timm.create_model(spec.architecture, pretrained=False, num_classes=len(spec.classes))

    def step_loss(_: int) -> tuple[torch.Tensor, float]:
        batch = rng.choice(len(images), size=min(batch_size, len(images)), replace=False)
        pixels = CLASSIFIER_PREPROCESSING.apply(images[batch], torch.device("cpu"))
        loss = F.cross_entropy(module(pixels), torch.from_numpy(labels[batch]))
        return loss, loss.item()

    return _optimise(module, steps, 3e-3, 0.05, step_loss, len(images))


def generator_scenes(spec: GeneratorSpec, seed: int, n: int) -> list[Scene]:
    """The scenes a generator is trained on: its slice, rendered in its style."""
    rng = np.random.default_rng(stable_seed(seed, spec.name, "scenes"))
    return sample_scenes(rng, n, spec.where, spec.style)


def train_generator(
    spec: GeneratorSpec, seed: int, steps: int, n_images: int, batch_size: int = 64
) -> tuple[Trained, PromptEncoder]:
    """Train a conditional VAE on `n_images` scenes of the generator's style."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, spec.name))
    scenes = generator_scenes(spec, seed, n_images)
    images = torch.from_numpy(render_all(scenes)).permute(0, 3, 1, 2).float() / 255.0
    encoder = PromptEncoder(*prompt_vocabulary())
    conditions = encoder([caption(scene, rng) for scene in scenes])
    module = ConditionalVAE(read_config(spec.architecture), len(encoder.tokens))

    def step_loss(step: int) -> tuple[torch.Tensor, float]:
        batch = torch.from_numpy(
            rng.choice(len(scenes), size=min(batch_size, len(scenes)), replace=False)
        )
        reconstruction, mean, log_var = module(images[batch], conditions[batch])
        recon = F.mse_loss(reconstruction, images[batch], reduction="sum") / len(batch)
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp()) / len(batch)
        loss = recon + KL_WEIGHT * min(1.0, 4 * (step + 1) / steps) * kl
        return loss, recon.item() / images[0].numel()

    return _optimise(module, steps, 2e-3, 0.01, step_loss, len(scenes)), encoder
