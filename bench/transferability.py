"""Seconds per transferability metric at N=5000, D=2048, C=100 (float64).

"alone": the metric on a fresh Target, paying for every decomposition it needs. "suite":
the metric on one Target shared by all metrics in this order, as `score_pool` runs them, so
decompositions an earlier metric computed (the covariance eigendecomposition, SFDA's LDA)
are reused. The baseline is one float64 product F^T F, timed in the same run.
"""

import time
import warnings

import numpy as np

from hubscout.transferability.suite import METRICS
from hubscout.transferability.target import Target

N, D, C = 5000, 2048, 100


def data(
    seed: int = 0, n: int = N, d: int = D, c: int = C
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(c), n // c)
    features = rng.normal(size=(n, d)) + rng.normal(0, 0.1, (c, d))[labels]
    logits = rng.normal(size=(n, 1000))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return features, labels, probs / probs.sum(axis=1, keepdims=True)


def main(n: int = N, d: int = D, c: int = C) -> dict[str, tuple[float, float, float, float]]:
    """Print each metric's seconds alone and in the suite, and its value; return the seconds
    and the values (alone, in the suite)."""
    features, labels, probs = data(0, n, d, c)
    start = time.perf_counter()
    _ = features.T @ features
    gram = time.perf_counter() - start
    print(f"N={n} D={d} C={c} float64; baseline F^T F: {gram:.3f} s")
    shared = Target(features, labels, probs)
    print(f"{'metric':<18} {'alone':>8} {'suite':>8}  value")
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in METRICS:
            alone, alone_value = timed(name, Target(features, labels, probs))
            in_suite, value = timed(name, shared)
            print(f"{name:<18} {alone:7.2f}s {in_suite:7.2f}s  {value:.4f}")
            results[name] = (alone, in_suite, alone_value, value)
    return results


def timed(name: str, target: Target) -> tuple[float, float]:
    start = time.perf_counter()
    metric = METRICS[name]
    if metric.pool_relative:  # ETran, NCTI: a pool of one
        value = float(metric.pool_combine(metric.pool_terms(target)[None])[0])
    else:
        value = metric.compute(target, 0)
    return time.perf_counter() - start, value


if __name__ == "__main__":
    main()
