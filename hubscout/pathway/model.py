"""Hub-Pathway (Xu et al., NeurIPS 2022): per input, a pathway generator picks which few hub
models to run and how much each counts.

For an input x with frozen features f_m(x) of the hub's models m = 1..M:
  H(x)   = W_2 silu(W_1 r(x)) + eps * softplus(W_n r(x)), eps ~ N(0, 1) in training only,
           r(x) the image at 8 x 8 pixels (what the router may read without running a model);
  g(x)   = softmax(H(x)) on the k largest H(x)_m, 0 for the others (noisy top-k gating,
           Shazeer et al. 2017);
  p(y|x) = sum_m g_m(x) softmax(a_m(f_m(x)))_y / sum_m g_m(x), a_m a linear head per model
           (aggregation).
Training minimises, on the labeled examples,
  - log p(y|x)                               (the task loss of the aggregate)
  + ROUTE_WEIGHT * CE(q(x), softmax(W_2 silu(W_1 r(x))))
        q_m(x) = softmax_m(log softmax(a_m(f_m(x)))_y), the models whose heads explain the
        label best as they stand (held fixed): the router's own signal, which the task
        loss cannot give it at k = 1, where a renormalised gate is always 1
  + BALANCE_WEIGHT * CV(sum_x g(x))^2         (exploration: every model gets used)
  + EXPLOIT_WEIGHT * mean over activated m of - log softmax(a_m(f_m(x)))_y
                                              (exploitation: each activated head learns alone)
At inference the gate is the noiseless top-k, so only k models run for each input.

Everything here is pure torch on arrays; features come in precomputed (training) or through a
callback that computes only the rows each model is chosen for (inference).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hubscout.models.base import unit_pixels

ROUTER_SIDE = 8  # the router reads 3 x 8 x 8 = 192 numbers: legible colour and layout
# Not tuned here: the importance weight of Shazeer et al. 2017 (0.1) and their noise; the
# exploitation weight 1 gives every activated head the task loss's weight.
BALANCE_WEIGHT = 0.1
EXPLOIT_WEIGHT = 1.0
HIDDEN = 64
# Chosen on a synthetic routing task, never on a world task (docs/decisions.md, Hub-Pathway);
# the epochs are chosen on each task's validation split.
LEARNING_RATE = 0.03
ROUTE_WEIGHT = 5.0
WEIGHT_DECAY = 1.0
MAX_EPOCHS = 300
VALIDATE_EVERY = 10


def router_input(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float32 [N, 3 * ROUTER_SIDE ** 2]: box-averaged pixels in [0, 1]."""
    small = F.adaptive_avg_pool2d(unit_pixels(images), ROUTER_SIDE)
    return small.flatten(1).numpy()


class PathwayNetwork(nn.Module):
    """The router, a linear head per model, and the standardisation of every input."""

    def __init__(self, feature_dims: Sequence[int], n_classes: int, k: int) -> None:
        super().__init__()
        self.k = k
        width = 3 * ROUTER_SIDE**2
        self.router = nn.Sequential(
            nn.Linear(width, HIDDEN), nn.SiLU(), nn.Linear(HIDDEN, len(feature_dims))
        )
        self.noise = nn.Linear(width, len(feature_dims))
        self.heads = nn.ModuleList(nn.Linear(d, n_classes) for d in feature_dims)
        self.register_buffer("router_mean", torch.zeros(width))
        self.register_buffer("router_std", torch.ones(width))
        for m, d in enumerate(feature_dims):
            self.register_buffer(f"feature_mean_{m}", torch.zeros(d))
            self.register_buffer(f"feature_std_{m}", torch.ones(d))

    def standardise(self, m: int, features: torch.Tensor) -> torch.Tensor:
        """Model m's features scaled as its head was trained on."""
        mean, std = getattr(self, f"feature_mean_{m}"), getattr(self, f"feature_std_{m}")
        return (features - mean) / std

    def gates(self, router: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """g(x) [N, M]: the softmax of the gate logits on their k largest, 0 elsewhere; noisy
        when a generator is given (training)."""
        x = (router - self.router_mean) / self.router_std
        logits = self.router(x)
        if generator is not None:
            eps = torch.randn(logits.shape, generator=generator)
            logits = logits + eps * F.softplus(self.noise(x))
        top = logits.topk(self.k, dim=1).indices
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter(1, top, True)
        return torch.where(keep, logits.softmax(dim=1), torch.zeros_like(logits))

    def route_log_probs(self, router: torch.Tensor) -> torch.Tensor:
        """log softmax of the noiseless gate logits over every model [N, M]."""
        return self.router((router - self.router_mean) / self.router_std).log_softmax(dim=1)

    def head_log_probs(self, m: int, features: torch.Tensor) -> torch.Tensor:
        """log softmax(a_m(f_m(x))) [N, C]."""
        return self.heads[m](self.standardise(m, features)).log_softmax(dim=1)


@dataclass
class PathwayTraining:
    """A trained pathway and what training chose."""

    network: PathwayNetwork
    epochs: int  # chosen on the validation split, then refitted on train + validation
    validation_accuracy: float


def _tensors(features: Sequence[np.ndarray]) -> list[torch.Tensor]:
    return [torch.from_numpy(np.asarray(f, dtype=np.float32)) for f in features]


def _fit(
    features: Sequence[np.ndarray],
    labels: np.ndarray,
    router: np.ndarray,
    n_classes: int,
    k: int,
    epochs: int,
    seed: int,
    validation: tuple[Sequence[np.ndarray], np.ndarray, np.ndarray] | None = None,
) -> tuple[PathwayNetwork, dict[int, float]]:
    """Full-batch Adam for `epochs`; the validation accuracy every VALIDATE_EVERY epochs."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = PathwayNetwork([f.shape[1] for f in features], n_classes, k)
    feats, y = _tensors(features), torch.from_numpy(np.asarray(labels, dtype=np.int64))
    r = torch.from_numpy(np.asarray(router, dtype=np.float32))
    network.router_mean.copy_(r.mean(0))
    network.router_std.copy_(r.std(0).clamp_min(1e-3))
    for m, f in enumerate(feats):
        getattr(network, f"feature_mean_{m}").copy_(f.mean(0))
        getattr(network, f"feature_std_{m}").copy_(f.std(0).clamp_min(1e-6))
    optimizer = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    scores: dict[int, float] = {}
    for epoch in range(1, epochs + 1):
        network.train()
        g = network.gates(r, generator)
        log_heads = torch.stack([network.head_log_probs(m, f) for m, f in enumerate(feats)], 1)
        head_ll = log_heads.gather(2, y[:, None, None].expand(-1, len(feats), 1))[..., 0]
        weights = g / g.sum(1, keepdim=True)
        aggregate = torch.logsumexp(log_heads + torch.log(weights.clamp_min(1e-30))[..., None], 1)
        task_loss = F.nll_loss(aggregate, y)
        # which models explain each label best, as their heads stand: the router's target
        target = head_ll.detach().softmax(dim=1)
        route = -(target * network.route_log_probs(r)).sum(1).mean()
        importance = g.sum(0)
        balance = importance.var() / importance.mean().pow(2)
        active = (g > 0).float()
        exploit = -(active * head_ll).sum() / active.sum()
        loss = (
            task_loss + ROUTE_WEIGHT * route + BALANCE_WEIGHT * balance + EXPLOIT_WEIGHT * exploit
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if validation is not None and epoch % VALIDATE_EVERY == 0:
            val_features, val_labels, val_router = validation
            probabilities, _ = predict_with_features(network, val_router, val_features)
            scores[epoch] = float(np.mean(probabilities.argmax(1) == val_labels))
    network.eval()
    return network, scores


def train_pathway(
    train: tuple[Sequence[np.ndarray], np.ndarray, np.ndarray],
    val: tuple[Sequence[np.ndarray], np.ndarray, np.ndarray],
    n_classes: int,
    k: int = 2,
    seed: int = 0,
) -> PathwayTraining:
    """Train on (features per model, labels, router input) of the train split, choose the
    epochs by validation accuracy (the earliest of the best), and refit on train + val."""
    if not 1 <= k <= len(train[0]):
        raise ValueError(f"k must be between 1 and the {len(train[0])} models, got {k}")
    _, scores = _fit(*train, n_classes, k, MAX_EPOCHS, seed, validation=val)
    best = max(scores.values())
    epochs = min(epoch for epoch, score in scores.items() if score == best)
    both = (
        [np.concatenate([a, b]) for a, b in zip(train[0], val[0], strict=True)],
        np.concatenate([train[1], val[1]]),
        np.concatenate([train[2], val[2]]),
    )
    network, _ = _fit(*both, n_classes, k, epochs, seed)
    return PathwayTraining(network, epochs, best)


@torch.inference_mode()
def predict(
    network: PathwayNetwork,
    router: np.ndarray,
    features_of: Callable[[int, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """p(y|x) [N, C] (float64) and the gates [N, M]; `features_of(m, rows)` returns model m's
    features of the rows it is chosen for, so each input runs only its k models."""
    g = network.gates(torch.from_numpy(np.asarray(router, dtype=np.float32)))
    n_classes = network.heads[0].out_features
    probabilities = torch.zeros(len(g), n_classes, dtype=torch.float64)
    for m in range(g.shape[1]):
        rows = torch.nonzero(g[:, m] > 0)[:, 0]
        if len(rows):
            features = torch.from_numpy(np.asarray(features_of(m, rows.numpy()), np.float32))
            head = network.head_log_probs(m, features).exp().double()
            probabilities[rows] += g[rows, m, None].double() * head
    return (probabilities / g.sum(1, keepdim=True).double()).numpy(), g.numpy()


def predict_with_features(
    network: PathwayNetwork, router: np.ndarray, features: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """`predict` with every model's features computed already (benchmarks)."""
    return predict(network, router, lambda m, rows: features[m][rows])
