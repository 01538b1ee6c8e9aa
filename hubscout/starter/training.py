"""Training loops of the starter hub: pure compute, seeded, returning the trained modules.

VLMs learn by locked-image text tuning (LiT, Zhai et al. 2022): the image tower is first
trained supervised, with a linear head per facet its captions mention, on images of its
slice; then it is locked and the text tower alone learns with open_clip's ClipLoss on (image,
caption) pairs. Classifiers learn with cross-entropy on their source labels; generators as
conditional VAEs or rectified flows on images rendered in their style and finish. Nothing
here writes files; `hubscout.starter.build` saves the results.

Why LiT: at the same 400 steps, ClipLoss from scratch left a characters-only VLM at chance
on digits (0.13 on the val split; vowels 0.26) where LiT reached 0.58 (vowels 0.88), and a
supervised stage costs a third of a contrastive step (14 s for 400 steps of a ResNet tower on
one core), so the image tower can have the longer training that shapes need.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
from hubscout.models.base import Preprocessing, unit_pixels
from hubscout.models.conditional import PromptEncoder, read_config
from hubscout.models.cvae import ConditionalVAE, CVAEConfig
from hubscout.models.flow_matching import ConditionalFlow, FlowConfig
from hubscout.models.open_clip_loader import create_untrained, register_configs
from hubscout.starter.catalog import ClassifierRecipe, GeneratorRecipe, VLMRecipe

KL_WEIGHT = 1.0
# Share of a flow generator's examples trained without their condition, so that sampling can
# use classifier-free guidance (the 0.1-0.2 of Ho & Salimans 2022; 0.15 is their middle).
CONDITION_DROPOUT = 0.15
FACET_KEEP = 0.5
HARD_BATCH_SHARE = 0.5
# Share of a VLM's caption facets named broadly (world.caption): without them no caption says
# "warm" or "polygon"; chosen on the val splits (docs/decisions.md, The starter hub).
BROAD_CAPTIONS = 0.4
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
    metrics: dict[str, float] = field(default_factory=dict)  # more of the card's metrics


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
    locked: nn.Module | None = None,
) -> Trained:
    """AdamW with warm-up and cosine decay; `step_loss(step)` returns (loss, value to log).
    Every parameter of `module` learns but those of `locked`, which stays in eval mode (its
    batch-norm statistics do not move either).

    The module's convolutions run channels-last and AdamW fused: on one core of a 2-core AMD
    EPYC a ResNet tower's step at batch 64 took 26.6 ms against 35.8 ms, and a VLM's 200
    image plus 100 text steps 11.7 s against 13.7 s (the text tower's 3.2M embedding weights
    dominate the unfused update). The trained module is returned in the contiguous layout
    that it is saved and loaded in, so that it computes what the loaded checkpoint does."""
    module.to(memory_format=torch.channels_last)
    frozen = {id(p) for p in locked.parameters()} if locked is not None else set()
    trainable = [p for p in module.parameters() if id(p) not in frozen]
    for parameter in locked.parameters() if locked is not None else ():
        parameter.requires_grad_(False)
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, fused=True)
    scheduler = _schedule(optimizer, steps)
    module.train()
    if locked is not None:
        locked.eval()
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
    module.to(memory_format=torch.contiguous_format)
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


def _facet_labels(scenes: list[Scene], facets: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per mentioned facet with two or more values in the slice, each scene's class index
    (-100, ignored, for a character's pattern, which captions never name)."""
    labels = {}
    for facet in facets:
        values = [getattr(scene, facet) for scene in scenes]
        names = sorted(set(values))
        if len(names) < 2:
            continue
        index = np.array([names.index(v) for v in values], dtype=np.int64)
        if facet == "pattern":
            index[[scene.kind != "shape" for scene in scenes]] = -100
        labels[facet] = index
    return labels


def _locked_features(
    tower: nn.Module, pixels: Callable[[np.ndarray], torch.Tensor], n: int, chunk: int = 512
) -> torch.Tensor:
    """Unit image features of all `n` scenes from the locked (eval-mode) tower, computed once:
    the text tower's steps then look them up instead of running the tower on every batch."""
    tower.eval()
    with torch.no_grad():
        parts = [tower(pixels(np.arange(i, min(i + chunk, n)))) for i in range(0, n, chunk)]
    return F.normalize(torch.cat(parts), dim=-1)


def _memoised_tokenizer(tokenizer: Callable[[list[str]], torch.Tensor]) -> Callable:
    """`tokenizer` with each distinct caption tokenized once (captions repeat across steps,
    and tokenizing a batch of 64 took 5.8 ms, against 7.7 ms for the text tower's forward
    pass on it)."""
    rows: dict[str, torch.Tensor] = {}

    def tokenize(texts: list[str]) -> torch.Tensor:
        new = sorted(set(texts) - rows.keys())
        if new:
            rows.update(zip(new, tokenizer(new), strict=True))
        return torch.stack([rows[text] for text in texts])

    return tokenize


def train_vlm(
    recipe: VLMRecipe, world: World, seed: int, steps: int, image_steps: int, batch_size: int = 64
) -> Trained:
    """Train a tiny open_clip model on its slice of the pool: `image_steps` of supervised
    image-tower training on the facets its captions mention, then `steps` of ClipLoss for
    the text tower against the locked image tower (LiT)."""
    register_configs()
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, recipe.name))
    indices = _slice(world, recipe.where)
    scenes = _scenes(world, indices)
    images = world.pool_images[indices]
    module = create_untrained(recipe.architecture)
    tokenizer = open_clip.get_tokenizer(recipe.architecture)
    config = module.visual.preprocess_cfg
    preprocessing = Preprocessing(32, tuple(config["mean"]), tuple(config["std"]))

    def pixels(batch: np.ndarray) -> torch.Tensor:
        values = preprocessing.apply(images[batch], torch.device("cpu"))
        return _grayscale(values) if recipe.grayscale else values

    labels = {
        facet: torch.from_numpy(y) for facet, y in _facet_labels(scenes, recipe.mention).items()
    }
    width = open_clip.get_model_config(recipe.architecture)["embed_dim"]
    heads = nn.ModuleDict({f: nn.Linear(width, int(y.max()) + 1) for f, y in labels.items()})
    image_tower = nn.ModuleList([module.visual, heads])

    def image_loss(_: int) -> tuple[torch.Tensor, float]:
        batch = rng.choice(len(scenes), size=min(batch_size, len(scenes)), replace=False)
        embedding = module.visual(pixels(batch))
        loss = sum(
            F.cross_entropy(heads[f](embedding), y[batch], ignore_index=-100)
            for f, y in labels.items()
        )
        return loss, loss.item()

    supervised = _optimise(image_tower, image_steps, 3e-3, 0.05, image_loss, len(scenes))
    locked_features = _locked_features(module.visual, pixels, len(scenes))
    tokenize = _memoised_tokenizer(tokenizer)
    loss_fn = open_clip.ClipLoss()
    groups = _facet_groups(scenes, recipe.mention)

    def text_loss(_: int) -> tuple[torch.Tensor, float]:
        batch = _contrastive_batch(groups, len(scenes), batch_size, rng)
        texts = [
            caption(scenes[i], rng, _some_facets(recipe.mention, rng), BROAD_CAPTIONS)
            for i in batch
        ]
        text_features = module.encode_text(tokenize(texts), normalize=True)
        loss = loss_fn(locked_features[batch], text_features, module.logit_scale.exp())
        return loss, loss.item()

    contrastive = _optimise(module, steps, 2e-3, 0.05, text_loss, len(scenes), locked=module.visual)
    contrastive.seconds += supervised.seconds
    contrastive.metrics = {
        "image_steps": image_steps,
        "image_first_loss": supervised.first_loss,
        "image_last_loss": supervised.last_loss,
    }
    return contrastive


def classifier_data(recipe: ClassifierRecipe, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Pool images of the classifier's slice and their labels (index into recipe.classes)."""
    scenes = world.pool_scenes.with_row_index("index").filter(
        pl.col(recipe.label).is_in(list(recipe.classes))
    )
    lookup = {name: i for i, name in enumerate(recipe.classes)}
    labels = np.array([lookup[v] for v in scenes[recipe.label]], dtype=np.int64)
    return world.pool_images[scenes["index"].to_numpy()], labels


def train_classifier(
    recipe: ClassifierRecipe, world: World, seed: int, steps: int, batch_size: int = 64
) -> Trained:
    """Train a timm classifier with cross-entropy on its source labels."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, recipe.name))
    images, labels = classifier_data(recipe, world)
    module = timm.create_model(
        recipe.architecture, pretrained=False, num_classes=len(recipe.classes)
    )

    def step_loss(_: int) -> tuple[torch.Tensor, float]:
        batch = rng.choice(len(images), size=min(batch_size, len(images)), replace=False)
        pixels = CLASSIFIER_PREPROCESSING.apply(images[batch], torch.device("cpu"))
        loss = F.cross_entropy(module(pixels), torch.from_numpy(labels[batch]))
        return loss, loss.item()

    return _optimise(module, steps, 3e-3, 0.05, step_loss, len(images))


def generator_scenes(recipe: GeneratorRecipe, seed: int, n: int) -> list[Scene]:
    """The scenes a generator is trained on: its slice, rendered in its style."""
    rng = np.random.default_rng(stable_seed(seed, recipe.name, "scenes"))
    return sample_scenes(rng, n, recipe.where, recipe.style)


def _flow_times(n: int) -> torch.Tensor:
    """A flow's training times, logit-normal (Esser et al. 2024, SD3): most of them where the
    image takes shape, away from the ends. On gen-dark at 1000 steps a classifier trained on
    real renders read the prompted symbol in 0.575 of the samples against 0.550 with uniform t
    (by hand, hubscout.starter.fidelity's measure on prompts of its own)."""
    return torch.sigmoid(torch.randn(n))


def train_generator(
    recipe: GeneratorRecipe, seed: int, steps: int, n_images: int, batch_size: int = 64
) -> tuple[Trained, PromptEncoder]:
    """Train the generator's network (a conditional VAE or a rectified flow, after its
    architecture) on `n_images` scenes of its style, drawn with its finish."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(stable_seed(seed, recipe.name))
    scenes = generator_scenes(recipe, seed, n_images)
    images = unit_pixels(render_all(scenes, finish=recipe.finish))
    encoder = PromptEncoder(*prompt_vocabulary())
    conditions = encoder([caption(scene, rng) for scene in scenes])

    def batch() -> torch.Tensor:
        return torch.from_numpy(
            rng.choice(len(scenes), size=min(batch_size, len(scenes)), replace=False)
        )

    if recipe.scheme == "flow":
        flow = ConditionalFlow(
            read_config("flow", recipe.architecture, FlowConfig), len(encoder.tokens)
        )

        def flow_loss(_: int) -> tuple[torch.Tensor, float]:
            chosen = batch()
            target = images[chosen] * 2 - 1
            keep = torch.rand(len(chosen), 1) >= CONDITION_DROPOUT
            noise = torch.randn_like(target)
            t = _flow_times(len(chosen))
            between = (1 - t)[:, None, None, None] * noise + t[:, None, None, None] * target
            loss = F.mse_loss(flow(between, t, conditions[chosen] * keep), target - noise)
            return loss, loss.item()

        return _optimise(flow, steps, 2e-3, 0.0, flow_loss, len(scenes)), encoder

    vae = ConditionalVAE(read_config("cvae", recipe.architecture, CVAEConfig), len(encoder.tokens))

    def vae_loss(step: int) -> tuple[torch.Tensor, float]:
        chosen = batch()
        reconstruction, mean, log_var = vae(images[chosen], conditions[chosen])
        recon = F.mse_loss(reconstruction, images[chosen], reduction="sum") / len(chosen)
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp()) / len(chosen)
        loss = recon + KL_WEIGHT * min(1.0, 4 * (step + 1) / steps) * kl
        return loss, recon.item() / images[0].numel()

    return _optimise(vae, steps, 2e-3, 0.01, vae_loss, len(scenes)), encoder
