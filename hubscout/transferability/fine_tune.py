"""A short fine-tune: the second, costlier ground truth, run for a subset of (model, task).

The whole image encoder and a new linear head train together with AdamW (encoder 3e-4,
head 3e-3, batch 64, a fixed number of steps, no hyperparameter search) on the task's
train + validation split; the result is the test accuracy. The hub's model is not touched:
training runs on a copy.
"""

import copy

import numpy as np
import torch
from torch import nn

from hubscout.data.datasets import ImageDataset
from hubscout.models.base import ImageEncoder

GROUND_TRUTH_FINE_TUNE = "fine_tune"
ENCODER_LR = 3e-4
HEAD_LR = 3e-3
BATCH_SIZE = 64


def fine_tune_accuracy(
    model: ImageEncoder, train: ImageDataset, test: ImageDataset, steps: int, seed: int = 0
) -> float:
    """Test accuracy after fine-tuning a copy of `model` with a new head for `steps` steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tuned = copy.deepcopy(model)
    encoder: nn.Module = tuned.module  # type: ignore[attr-defined]
    classes = int(train.labels.max()) + 1
    head = nn.Linear(tuned.image_features(train.images[:1]).shape[1], classes).to(tuned.device)
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": ENCODER_LR},
            {"params": head.parameters(), "lr": HEAD_LR},
        ]
    )
    labels = torch.as_tensor(train.labels, device=tuned.device)
    encoder.train()
    for _ in range(steps):
        batch = rng.choice(len(train), size=min(BATCH_SIZE, len(train)), replace=False)
        pixels = tuned.preprocessing.apply(train.images[batch], tuned.device)
        logits = head(tuned._features(pixels).float())
        loss = nn.functional.cross_entropy(logits, labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    encoder.eval()
    with torch.inference_mode():
        features = torch.as_tensor(tuned.image_features(test.images), device=tuned.device)
        predicted = head(features.float()).argmax(dim=1).cpu().numpy()
    return float(np.mean(predicted == test.labels))
