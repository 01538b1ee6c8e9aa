"""What the starter hub's prompt-conditional generators (cvae, flow) share.

A prompt is read as a bag of known phrases ("dark red", "striped", "letter K") mapped to
tokens; the multi-hot token vector conditions the network. The phrase table travels in the
checkpoint's safetensors metadata, so a checkpoint is self-contained. Architectures are JSON
configs in hubscout/models/configs/generators/, named `<scheme>:<config>@<checkpoint>`.
"""

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from pydantic import BaseModel, ValidationError
from safetensors import safe_open
from torch import nn

from hubscout.errors import (
    ConfigError,
    CorruptCheckpointError,
    SourceError,
    UnknownArchitectureError,
)
from hubscout.models.base import Generator
from hubscout.models.checkpoints import content_hash, load_weights, read_state_dict

CONFIG_DIR = Path(__file__).parent / "configs" / "generators"

Config = TypeVar("Config", bound=BaseModel)


class PromptEncoder:
    """Maps a prompt to a multi-hot vector over tokens by matching known phrases."""

    def __init__(self, tokens: Sequence[str], phrases: Mapping[str, str]) -> None:
        self.tokens = list(tokens)
        self.phrases = dict(phrases)
        index = {token: i for i, token in enumerate(self.tokens)}
        ordered = sorted(self.phrases, key=len, reverse=True)
        self._patterns = [
            (re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])"), index[self.phrases[phrase]])
            for phrase in ordered
        ]

    def __call__(self, prompts: Sequence[str]) -> torch.Tensor:
        """float32 [len(prompts), len(tokens)]."""
        vectors = torch.zeros(len(prompts), len(self.tokens))
        for row, prompt in enumerate(prompts):
            text = prompt.lower()
            for pattern, column in self._patterns:
                if pattern.search(text):
                    vectors[row, column] = 1.0
                    text = pattern.sub(" ", text)
        return vectors


def metadata_for(encoder: PromptEncoder) -> dict[str, str]:
    """Safetensors metadata that makes a checkpoint self-contained."""
    return {"tokens": json.dumps(encoder.tokens), "phrases": json.dumps(encoder.phrases)}


def read_prompt_encoder(path: Path) -> PromptEncoder:
    """The prompt table of a generator checkpoint."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return PromptEncoder(json.loads(metadata["tokens"]), json.loads(metadata["phrases"]))
    except (KeyError, ValueError, OSError) as error:
        raise CorruptCheckpointError(
            f"{path} lacks the generator prompt table (safetensors metadata 'tokens' and "
            "'phrases'): save it with hubscout.models.conditional.metadata_for"
        ) from error


class PromptGenerator(Generator):
    """A loaded prompt-conditional network behind the Generator interface. The network's
    `sample(condition, generator)` returns one image in [0, 1] ([B, 3, S, S]) per multi-hot
    condition row, drawing its noise from `generator`."""

    def __init__(
        self,
        source: str,
        content_hash: str,
        device: torch.device,
        module: nn.Module,
        prompt_encoder: PromptEncoder,
    ) -> None:
        super().__init__(source, content_hash, device)
        self.module = module.to(device).eval()
        self.prompt_encoder = prompt_encoder

    @torch.inference_mode()
    def generate(self, prompts: Sequence[str], n: int, seed: int) -> np.ndarray:
        """`n` images per prompt, uint8 [len(prompts), n, S, S, 3]; same seed, same images."""
        if not prompts or n < 1:
            raise SourceError("generate needs at least one prompt and n >= 1")
        generator = torch.Generator().manual_seed(seed)
        condition = self.prompt_encoder(prompts).repeat_interleave(n, dim=0).to(self.device)
        images = self.module.sample(condition, generator)
        pixels = (images * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        size = self.module.config.image_size
        return pixels.cpu().numpy().reshape(len(prompts), n, size, size, 3)


def read_config(scheme: str, name: str, config_type: type[Config]) -> Config:
    """The `scheme` architecture config called `name`."""
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file() or not name.startswith(f"hs-{scheme}-"):
        known = sorted(p.stem for p in CONFIG_DIR.glob(f"hs-{scheme}-*.json"))
        raise UnknownArchitectureError(
            f"unknown {scheme} architecture {name!r}; known: {', '.join(known)}"
        )
    try:
        return config_type.model_validate_json(path.read_text())
    except ValidationError as error:
        raise ConfigError(f"{scheme} config {path} is invalid: {error}") from error


def load_generator(
    scheme: str,
    rest: str,
    device: torch.device,
    config_type: type[Config],
    build: type[nn.Module],
) -> PromptGenerator:
    """Load `<scheme>:<config>@<checkpoint.safetensors>`: `build(config, n_tokens)` makes the
    network the weights go into."""
    source = f"{scheme}:{rest}"
    name, separator, checkpoint = rest.partition("@")
    if not separator or not checkpoint:
        raise SourceError(
            f"{source!r} names no weights: write {scheme}:<config>@<file.safetensors>"
        )
    config = read_config(scheme, name, config_type)
    path = Path(checkpoint).expanduser()
    state_dict = read_state_dict(path)
    if path.suffix != ".safetensors":
        raise SourceError(
            f"{scheme} checkpoints are .safetensors files with metadata, not {path.name}"
        )
    prompt_encoder = read_prompt_encoder(path)
    module = build(config, len(prompt_encoder.tokens))
    load_weights(module, state_dict, source)
    identity = {scheme: name, **config.model_dump(), "phrases": prompt_encoder.phrases}
    return PromptGenerator(
        source=source,
        content_hash=content_hash(identity, state_dict),
        device=device,
        module=module,
        prompt_encoder=prompt_encoder,
    )
