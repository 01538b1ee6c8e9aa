"""Generator specifications: what a generator makes for a shared prompt set, described once.

A spec holds the unit descriptors (descriptor.py: the reference encoder's embedding beside
the style statistics, weighed by the style weight) of `per_prompt` images per prompt
[P, m, D] and the reference encoder's text embeddings of the prompts themselves [P, E], with
the hashes it depends on (generator, encoder, style weight, prompt set). It is independent of
any task and is rebuilt only when one of those changes. Stored as NPZ (read with
allow_pickle=False) plus a JSON sidecar for the strings.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hubscout.data.world import Scene, caption, render_all, sample_scenes, stable_seed
from hubscout.errors import ConfigError
from hubscout.identification.descriptor import STYLE_FORMAT, describe, style_embedding
from hubscout.models.base import Generator, VisionLanguageModel

SPEC_FORMAT = "generator-spec-v3"


@dataclass(frozen=True)
class GeneratorSpecification:
    """One generator's specification."""

    generator: str
    prompts: tuple[str, ...]
    image_embeddings: np.ndarray  # [P, m, D] float32, unit descriptors
    prompt_embeddings: np.ndarray  # [P, E] float32, unit rows
    version: str  # hash of format, generator, encoder, style weight and prompts
    depends_on: dict[str, str]  # generator, encoder and their content hashes
    style_weight: float  # s of the descriptors: the weight of the style statistics

    def save(self, folder: Path) -> Path:
        """Write <generator>.spec.npz and .spec.json atomically; returns the NPZ path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.generator}.spec.npz"
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, images=self.image_embeddings, prompts=self.prompt_embeddings)
        partial.replace(path)
        sidecar = {
            "format": SPEC_FORMAT,
            "generator": self.generator,
            "version": self.version,
            "depends_on": self.depends_on,
            "style_weight": self.style_weight,
            "prompts": self.prompts,
        }
        path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> "GeneratorSpecification":
        """Read a spec written by `save`."""
        sidecar = path.with_suffix(".json")
        if not path.is_file() or not sidecar.is_file():
            raise ConfigError(f"generator spec {path} is missing: run the identification stage")
        meta = json.loads(sidecar.read_text())
        if meta.get("format") != SPEC_FORMAT:
            raise ConfigError(
                f"generator spec {path} is of format {meta.get('format')}, not {SPEC_FORMAT}: "
                "run `dvc repro identification` to rebuild it"
            )
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                meta["generator"],
                tuple(meta["prompts"]),
                arrays["images"],
                arrays["prompts"],
                meta["version"],
                meta["depends_on"],
                float(meta["style_weight"]),
            )


def world_prompts(n: int, seed: int) -> list[str]:
    """`n` distinct captions of random world scenes: a shared prompt set (one seed for the
    specs, another for held-out benchmark prompts)."""
    return list(world_prompt_scenes(n, seed))


def world_prompt_scenes(n: int, seed: int) -> dict[str, Scene]:
    """The prompts of `world_prompts(n, seed)`, each with the scene it describes."""
    rng = np.random.default_rng(stable_seed("prompts", seed))
    prompts: dict[str, Scene] = {}
    while len(prompts) < n:
        scene = sample_scenes(rng, 1)[0]
        text = caption(scene, rng)
        if text not in prompts:
            prompts[text] = scene
    return prompts


def render_prompts(scenes: list[Scene], per_prompt: int, seed: int) -> np.ndarray:
    """`per_prompt` images of each scene straight from the world (its own renderer, no
    generator), each with its own jitter: uint8 [P, n, H, W, 3]."""
    jittered = [
        replace(scene, seed=stable_seed("world-examples", seed, scene.seed, i))
        for scene in scenes
        for i in range(per_prompt)
    ]
    images = render_all(jittered)
    return images.reshape(len(scenes), per_prompt, *images.shape[1:])


def describe_images(
    encoder: VisionLanguageModel, images: np.ndarray, style_weight: float
) -> np.ndarray:
    """Unit descriptors [..., D] (float32) of uint8 images [..., H, W, 3]: how specs and
    the examples they are compared with are described."""
    flat = images.reshape(-1, *images.shape[-3:])
    described = describe(encoder.encode_images(flat), style_embedding(flat), style_weight)
    return described.reshape(*images.shape[:-3], -1)


def spec_version(
    generator_hash: str, encoder: VisionLanguageModel, style_weight: float, prompts: list[str]
) -> str:
    """The hash a spec depends on."""
    digest = hashlib.sha256(SPEC_FORMAT.encode())
    parts = (generator_hash, encoder.content_hash, STYLE_FORMAT, repr(style_weight), *prompts)
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def build_spec(
    name: str,
    generator: Generator,
    encoder: VisionLanguageModel,
    prompts: list[str],
    per_prompt: int,
    style_weight: float,
    seed: int = 0,
) -> GeneratorSpecification:
    """Generate `per_prompt` images per prompt and describe them and the prompts."""
    images = generator.generate(prompts, per_prompt, seed)
    descriptors = describe_images(encoder, images, style_weight)
    return spec_from_descriptors(
        name, generator.content_hash, encoder, prompts, descriptors, style_weight
    )


def spec_from_descriptors(
    name: str,
    generator_hash: str,
    encoder: VisionLanguageModel,
    prompts: list[str],
    descriptors: np.ndarray,
    style_weight: float,
) -> GeneratorSpecification:
    """The spec of a generator's images for `prompts`, described with `style_weight`
    ([P, m, D] unit rows)."""
    return GeneratorSpecification(
        name,
        tuple(prompts),
        descriptors.astype(np.float32),
        encoder.encode_texts(prompts).astype(np.float32),
        spec_version(generator_hash, encoder, style_weight, prompts),
        {
            "generator_hash": generator_hash,
            "encoder": encoder.source,
            "encoder_hash": encoder.content_hash,
        },
        style_weight,
    )
