"""Prompt-conditional VAEs, the starter hub's generators: `cvae:<config>@<checkpoint>`.

A prompt is read as a bag of known phrases ("dark red", "striped", "letter K") mapped to
tokens; the multi-hot token vector conditions the decoder. The phrase table travels in the
checkpoint's safetensors metadata, so a checkpoint is self-contained. Architectures are JSON
configs in hubscout/models/configs/generators/.
"""

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

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


class CVAEConfig(BaseModel):
    """Architecture of a conditional VAE."""

    image_size: int = 32
    latent_dim: int = 16
    width: int = 32
    condition_dim: int = 64


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


class ConditionalVAE(nn.Module):
    """A small convolutional VAE whose encoder and decoder see the condition."""

    def __init__(self, config: CVAEConfig, n_tokens: int) -> None:
        super().__init__()
        self.config = config
        w, c, side = config.width, config.condition_dim, config.image_size // 8
        self.condition = nn.Sequential(nn.Linear(n_tokens, c), nn.SiLU())
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.SiLU(),
            nn.Flatten(),
        )  # fmt: skip
        self.posterior = nn.Linear(4 * w * side * side + c, 2 * config.latent_dim)
        self.expand = nn.Sequential(
            nn.Linear(config.latent_dim + c, 4 * w * side * side), nn.SiLU()
        )
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (4 * w, side, side)),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.SiLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.SiLU(),
            nn.ConvTranspose2d(w, 3, 4, 2, 1), nn.Sigmoid(),
        )  # fmt: skip

    def decode(self, latent: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], [B, 3, S, S]."""
        return self.decoder(self.expand(torch.cat([latent, self.condition(condition)], dim=1)))

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(reconstruction, mean, log variance) of images in [0, 1]."""
        hidden = torch.cat([self.encoder(images), self.condition(condition)], dim=1)
        mean, log_var = self.posterior(hidden).chunk(2, dim=1)
        latent = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        return self.decode(latent, condition), mean, log_var


class CVAEGenerator(Generator):
    """A loaded conditional VAE behind the Generator interface."""

    def __init__(
        self,
        source: str,
        content_hash: str,
        device: torch.device,
        module: ConditionalVAE,
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
        latent_dim = self.module.config.latent_dim
        latent = torch.randn(len(prompts) * n, latent_dim, generator=generator).to(self.device)
        condition = self.prompt_encoder(prompts).repeat_interleave(n, dim=0).to(self.device)
        images = self.module.decode(latent, condition)
        pixels = (images * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        size = self.module.config.image_size
        return pixels.cpu().numpy().reshape(len(prompts), n, size, size, 3)


def read_config(name: str) -> CVAEConfig:
    """The architecture config called `name`."""
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
        raise UnknownArchitectureError(f"unknown cvae architecture {name!r}; known: {known}")
    try:
        return CVAEConfig.model_validate_json(path.read_text())
    except ValidationError as error:
        raise ConfigError(f"cvae config {path} is invalid: {error}") from error


def metadata_for(encoder: PromptEncoder) -> dict[str, str]:
    """Safetensors metadata that makes a checkpoint self-contained."""
    return {"tokens": json.dumps(encoder.tokens), "phrases": json.dumps(encoder.phrases)}


def _read_prompt_encoder(path: Path) -> PromptEncoder:
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return PromptEncoder(json.loads(metadata["tokens"]), json.loads(metadata["phrases"]))
    except (KeyError, ValueError, OSError) as error:
        raise CorruptCheckpointError(
            f"{path} lacks the cvae prompt table (safetensors metadata 'tokens' and 'phrases'): "
            "save it with hubscout.models.cvae.metadata_for"
        ) from error


def load(rest: str, device: torch.device) -> CVAEGenerator:
    """Load `cvae:<config>@<checkpoint.safetensors>`."""
    source = f"cvae:{rest}"
    name, separator, checkpoint = rest.partition("@")
    if not separator or not checkpoint:
        raise SourceError(f"{source!r} names no weights: write cvae:<config>@<file.safetensors>")
    config = read_config(name)
    path = Path(checkpoint).expanduser()
    state_dict = read_state_dict(path)
    if path.suffix != ".safetensors":
        raise SourceError(f"cvae checkpoints are .safetensors files with metadata, not {path.name}")
    prompt_encoder = _read_prompt_encoder(path)
    module = ConditionalVAE(config, len(prompt_encoder.tokens))
    load_weights(module, state_dict, source)
    identity = {"cvae": name, **config.model_dump(), "phrases": prompt_encoder.phrases}
    return CVAEGenerator(
        source=source,
        content_hash=content_hash(identity, state_dict),
        device=device,
        module=module,
        prompt_encoder=prompt_encoder,
    )
