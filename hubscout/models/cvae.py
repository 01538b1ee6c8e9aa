"""Prompt-conditional VAEs, one of the starter hub's two generator architectures:
`cvae:<config>@<checkpoint>` (what the generators share: hubscout.models.conditional).
"""

import torch
from pydantic import BaseModel
from torch import nn

from hubscout.models.conditional import PromptGenerator, load_generator


class CVAEConfig(BaseModel):
    """Architecture of a conditional VAE."""

    image_size: int = 32
    latent_dim: int = 16
    width: int = 32
    condition_dim: int = 64


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

    def sample(self, condition: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One image per condition row, the latent drawn from the prior with `generator`."""
        latent = torch.randn(len(condition), self.config.latent_dim, generator=generator)
        return self.decode(latent.to(condition.device), condition)


def load(rest: str, device: torch.device) -> PromptGenerator:
    """Load `cvae:<config>@<checkpoint.safetensors>`."""
    return load_generator("cvae", rest, device, CVAEConfig, ConditionalVAE)
