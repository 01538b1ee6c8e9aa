"""One interface per model kind: VLM, image classifier, conditional generator.

Images go in and come out as uint8 arrays [N, H, W, 3]; embeddings and probabilities come out
as float32 arrays. Inference is batched, runs under `torch.inference_mode` and is deterministic.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hubscout.errors import DatasetError


@dataclass(frozen=True)
class Preprocessing:
    """How uint8 images become a model's input tensor: bicubic resize, then normalisation."""

    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def identity(self) -> str:
        """A string that changes whenever the preprocessing changes (part of cache keys)."""
        mean = ",".join(f"{v:.6g}" for v in self.mean)
        std = ",".join(f"{v:.6g}" for v in self.std)
        return f"bicubic{self.image_size}|mean={mean}|std={std}"

    def apply(self, images: np.ndarray, device: torch.device) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> float32 [N, 3, S, S] on `device`."""
        check_image_batch(images)
        batch = unit_pixels(images, device)
        if batch.shape[-1] != self.image_size or batch.shape[-2] != self.image_size:
            size = (self.image_size, self.image_size)
            batch = F.interpolate(batch, size=size, mode="bicubic", antialias=True)
            batch = batch.clamp_(0.0, 1.0)
        mean = torch.tensor(self.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, 3, 1, 1)
        return (batch - mean) / std


def unit_pixels(images: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [0, 1], on `device` (moved there as
    uint8, a quarter of the bytes)."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return batch.permute(0, 3, 1, 2).float().div_(255.0)


def check_image_batch(images: np.ndarray) -> None:
    """Raise DatasetError unless `images` is a uint8 array [N, H, W, 3]."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        raise DatasetError("images must be a uint8 NumPy array [N, H, W, 3] with values 0-255")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DatasetError(f"images must have shape [N, H, W, 3], got {list(images.shape)}")


def run_batched(
    fn: Callable[[np.ndarray], torch.Tensor], images: np.ndarray, batch_size: int
) -> np.ndarray:
    """Apply `fn` to `images` in batches and stack the float32 results on the CPU."""
    check_image_batch(images)
    outputs = [
        fn(images[start : start + batch_size]) for start in range(0, len(images), batch_size)
    ]
    if not outputs:
        raise DatasetError("no images given: pass at least one image")
    return torch.cat(outputs).float().cpu().numpy()


class HubModel(ABC):
    """What every loaded model carries: where it came from and what it is (content hash)."""

    kind: ClassVar[str]

    def __init__(self, source: str, content_hash: str, device: torch.device) -> None:
        self.source = source
        self.content_hash = content_hash
        self.device = device

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, hash={self.content_hash[:12]})"


class ImageEncoder(HubModel):
    """A model that turns images into feature vectors (VLMs and classifiers)."""

    preprocessing: Preprocessing
    batch_size: int = 256

    @abstractmethod
    def _features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Features of a preprocessed batch [B, 3, S, S] -> [B, D]."""

    def image_features(self, images: np.ndarray) -> np.ndarray:
        """Unnormalised image features [N, D] (float32): the input of transferability metrics."""
        return run_batched(self._batch_features, images, self.batch_size)

    @torch.inference_mode()
    def _batch_features(self, images: np.ndarray) -> torch.Tensor:
        return self._features(self.preprocessing.apply(images, self.device))


class VisionLanguageModel(ImageEncoder):
    """A CLIP-style model: images and texts in one embedding space."""

    kind = "vlm"

    def __init__(
        self,
        source: str,
        content_hash: str,
        device: torch.device,
        module: nn.Module,
        tokenizer: Callable[[Sequence[str]], torch.Tensor],
        preprocessing: Preprocessing,
    ) -> None:
        super().__init__(source, content_hash, device)
        self.module = module.to(device).eval()
        self.tokenizer = tokenizer
        self.preprocessing = preprocessing

    def _features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.module.encode_image(pixels)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """L2-normalised image embeddings [N, D] (float32)."""
        features = self.image_features(images)
        return features / np.linalg.norm(features, axis=1, keepdims=True).clip(min=1e-12)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised text embeddings [N, D] (float32)."""
        if len(texts) == 0:
            raise DatasetError("no texts given: pass at least one text")
        outputs = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[start : start + self.batch_size])).to(self.device)
            outputs.append(self.module.encode_text(tokens, normalize=True))
        return torch.cat(outputs).float().cpu().numpy()


class ImageClassifier(ImageEncoder):
    """A classifier over its own source classes, exposing penultimate features."""

    kind = "classifier"

    def __init__(
        self,
        source: str,
        content_hash: str,
        device: torch.device,
        module: nn.Module,
        source_classes: Sequence[str],
        preprocessing: Preprocessing,
    ) -> None:
        super().__init__(source, content_hash, device)
        self.module = module.to(device).eval()
        self.source_classes = tuple(source_classes)
        self.preprocessing = preprocessing

    def _features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.module.forward_head(self.module.forward_features(pixels), pre_logits=True)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities over the source classes [N, C] (float32, rows sum to 1)."""
        return run_batched(self._batch_proba, images, self.batch_size)

    @torch.inference_mode()
    def _batch_proba(self, images: np.ndarray) -> torch.Tensor:
        logits = self.module(self.preprocessing.apply(images, self.device))
        return logits.float().softmax(dim=1)


class Generator(HubModel):
    """A conditional image generator."""

    kind = "generator"

    @abstractmethod
    def generate(self, prompts: Sequence[str], n: int, seed: int) -> np.ndarray:
        """`n` images per prompt as uint8 [len(prompts), n, H, W, 3]; same seed, same images."""
