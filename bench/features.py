"""Feature extraction: a cold pass against a cache hit, and batch size 256 against 32.

Runs on a randomly initialised tiny open_clip model over random images, so it needs no hub.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import open_clip
import torch

from hubscout.data.datasets import ImageDataset
from hubscout.features import extract_features
from hubscout.models.base import Preprocessing, VisionLanguageModel
from hubscout.models.open_clip_loader import create_untrained, register_configs


def _model(batch_size: int) -> VisionLanguageModel:
    register_configs()
    torch.manual_seed(0)
    module = create_untrained("hs-vit-w64-p8")
    model = VisionLanguageModel(
        "bench", "bench-hash", torch.device("cpu"), module,
        open_clip.get_tokenizer("hs-vit-w64-p8"), Preprocessing(32, (0.5,) * 3, (0.25,) * 3),
    )  # fmt: skip
    model.batch_size = batch_size
    return model


def _seconds(model: VisionLanguageModel, dataset: ImageDataset, root: Path) -> float:
    start = time.perf_counter()
    extract_features(model, dataset, root, show_progress=False)
    return time.perf_counter() - start


def main(count: int = 4096) -> dict[str, float]:
    """Print seconds and ratios for `count` images; return the seconds."""
    images = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    dataset = ImageDataset("bench", images)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cold = _seconds(_model(256), dataset, root / "a")
        hit = _seconds(_model(256), dataset, root / "a")
        small_batches = _seconds(_model(32), dataset, root / "b")
    print(f"cold extraction, {count} images, batch 256: {cold:.3f} s")
    print(f"cache hit: {hit:.4f} s  ({cold / hit:.0f}x faster than cold)")
    print(f"batch 32: {small_batches:.3f} s  ({small_batches / cold:.2f}x the time of batch 256)")
    return {"cold": cold, "hit": hit, "batch_32": small_batches}


if __name__ == "__main__":
    main()
