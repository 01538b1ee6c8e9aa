"""Reduced kernel mean embeddings (RKME), the Learnware market's model specifications.

A model's training data X [n, D] (reference-encoder embeddings) is summarised by m reduced
points Z (k-means centres) and weights beta that minimise the RKHS distance between the
two kernel mean embeddings, || 1/n sum_i k(x_i, .) - sum_j beta_j k(z_j, .) ||^2, subject to
beta >= 0 and sum beta = 1: a quadratic program in beta. k is the Gaussian kernel
exp(-gamma |a - b|^2). A user's unlabeled examples are matched by MMD to every spec (the
single best model) and by the same QP over the specs' embeddings (a mixture of models).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from sklearn.cluster import KMeans

from hubscout.errors import DatasetError


@dataclass(frozen=True)
class RKME:
    """m reduced points [m, D], their weights [m] (on the simplex) and the kernel's gamma."""

    points: np.ndarray
    weights: np.ndarray
    gamma: float


def gaussian_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-gamma |a_i - b_j|^2) [len(a), len(b)] in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.exp(-gamma * np.maximum(squared, 0.0))


def median_gamma(samples: np.ndarray) -> float:
    """gamma = 1 / median of the nonzero squared distances between samples (the median
    heuristic)."""
    samples = samples.astype(np.float64)
    squared = ((samples[:, None] - samples[None]) ** 2).sum(-1)
    return float(1.0 / np.median(squared[squared > 0]))


def simplex_qp(gram: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """argmin over the simplex of w^T G w - 2 c^T w (SLSQP from uniform weights)."""
    m = len(linear)
    result = scipy.optimize.minimize(
        lambda w: (w @ gram @ w - 2 * linear @ w, 2 * gram @ w - 2 * linear),
        np.full(m, 1.0 / m),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)}],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    weights = np.clip(result.x, 0.0, None)
    return weights / weights.sum()


def fit_rkme(data: np.ndarray, m: int, gamma: float, seed: int = 0) -> RKME:
    """The RKME of `data` [n, D] with m reduced points."""
    if len(data) < m:
        raise DatasetError(f"an RKME with {m} points needs at least {m} samples, got {len(data)}")
    centres = KMeans(m, n_init=1, random_state=seed).fit(data.astype(np.float64)).cluster_centers_
    gram = gaussian_kernel(centres, centres, gamma)
    linear = gaussian_kernel(centres, data, gamma).mean(axis=1)
    return RKME(centres, simplex_qp(gram, linear), gamma)


def mmd2(spec: RKME, samples: np.ndarray) -> float:
    """Squared MMD between a spec's embedding and the empirical embedding of `samples`."""
    gamma = spec.gamma
    within = spec.weights @ gaussian_kernel(spec.points, spec.points, gamma) @ spec.weights
    cross = spec.weights @ gaussian_kernel(spec.points, samples, gamma).mean(axis=1)
    among = gaussian_kernel(samples, samples, gamma).mean()
    return float(max(within - 2 * cross + among, 0.0))


def rank_by_mmd(samples: np.ndarray, specs: Mapping[str, RKME]) -> list[tuple[str, float]]:
    """(model, MMD^2) for every spec, smallest (best) first."""
    scores = {name: mmd2(spec, samples) for name, spec in specs.items()}
    return sorted(scores.items(), key=lambda item: (item[1], item[0]))


def mixture(samples: np.ndarray, specs: Mapping[str, RKME]) -> dict[str, float]:
    """Weights over the specs (on the simplex) whose mixed embedding is closest to the
    samples' embedding: the same QP with the specs as the dictionary."""
    names = list(specs)
    gram = np.array(
        [
            [
                specs[a].weights
                @ gaussian_kernel(specs[a].points, specs[b].points, specs[a].gamma)
                @ specs[b].weights
                for b in names
            ]
            for a in names
        ]
    )
    linear = np.array(
        [
            specs[a].weights @ gaussian_kernel(specs[a].points, samples, specs[a].gamma).mean(1)
            for a in names
        ]
    )
    return dict(zip(names, map(float, simplex_qp(gram, linear)), strict=True))
