"""Identification benchmarks on embeddings: generators from example images (PMI against the
nearest-mean and random baselines) and models from unlabeled samples of their slice (RKME).

Generator tasks: a true generator g, a held-out prompt q (not in the spec prompt set) and k
of g's images for q. Scored by top-1 and top-3 accuracy per k, and by the Frechet distance,
in the reference encoder's space, between the identified generator's images for q and the
examples (lower is better; the true generator's distance is the floor).
"""

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from hubscout.identification.pmi import identify, nearest_mean
from hubscout.identification.rkme import RKME, mixture, rank_by_mmd
from hubscout.identification.specs import GeneratorSpecification

KS = (1, 2, 4, 8)
RKME_SAMPLE_SIZES = (5, 20, 50)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) of two samples [n, D]
    (biased covariances, so one sample has covariance 0). The symmetric form stays real
    and finite when the covariances are singular, as they are for a few samples."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    cov_a, cov_b = (
        np.cov(x.T, bias=True) if len(x) > 1 else np.zeros((x.shape[1],) * 2) for x in (a, b)
    )
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0.0))) @ vectors.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0.0)).sum()
    gap = a.mean(axis=0) - b.mean(axis=0)
    return float(gap @ gap + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def generator_benchmark(
    specs: Mapping[str, GeneratorSpecification],
    held_out: Mapping[str, np.ndarray],
    fresh: Mapping[str, np.ndarray],
    prompt_embeddings: np.ndarray,
    ks: Sequence[int] = KS,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per (task, method): generator, prompt, k, method, rank (0 = first), fd.

    `held_out[g]` holds g's embeddings [Q, n, D] for the Q held-out prompts (examples are
    drawn from them); `fresh[g]` other images of g for the same prompts, the identified
    generator's outputs in the Frechet distance; `prompt_embeddings` [Q, D] the prompts'
    text embeddings (for "pmi_with_prompt").
    """
    rng = np.random.default_rng(seed)
    names = sorted(specs)
    rows = []
    for true in names:
        for prompt in range(prompt_embeddings.shape[0]):
            for k in ks:
                pick = rng.choice(held_out[true].shape[1], size=k, replace=False)
                examples = held_out[true][prompt][pick].astype(np.float64)
                distance = {g: frechet_distance(fresh[g][prompt], examples) for g in names}
                rankings = {
                    "pmi": [r.generator for r in identify(examples, specs)],
                    "pmi_with_prompt": [
                        r.generator for r in identify(examples, specs, prompt_embeddings[prompt])
                    ],
                    "nearest_mean": nearest_mean(examples, specs),
                    "random": list(rng.permutation(names)),
                    "oracle": [true],
                }
                for method, ranking in rankings.items():
                    rank = ranking.index(true) if true in ranking else len(names)
                    rows.append((true, prompt, k, method, rank, distance[ranking[0]]))
    schema = ["generator", "prompt", "k", "method", "rank", "fd"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def summarise_generators(table: pl.DataFrame) -> pl.DataFrame:
    """Per method and k: tasks, top-1 and top-3 accuracy, mean Frechet distance."""
    return (
        table.group_by("method", "k")
        .agg(
            pl.len().alias("tasks"),
            (pl.col("rank") == 0).mean().alias("top1"),
            (pl.col("rank") < 3).mean().alias("top3"),
            pl.col("fd").mean().alias("fd"),
        )
        .sort("method", "k")
    )


def rkme_benchmark(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    queries: Mapping[str, np.ndarray],
    sizes: Sequence[int] = RKME_SAMPLE_SIZES,
    draws: int = 10,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per search: model, n, top1_model (the model itself ranked first) and
    top1_slice (a model of the same training slice ranked first)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, samples in queries.items():
        for n in sizes:
            for _ in range(draws):
                picked = samples[rng.choice(len(samples), size=n, replace=False)]
                best = rank_by_mmd(picked, specs)[0][0]
                rows.append((model, n, best == model, slice_of[best] == slice_of[model]))
    schema = ["model", "n", "top1_model", "top1_slice"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def mixture_benchmark(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    queries: Mapping[str, np.ndarray],
    per_slice: int = 25,
    seed: int = 0,
) -> pl.DataFrame:
    """For every pair of distinct slices, half the samples from each: the mixture weight that
    lands on models of the two true slices (1.0 is perfect)."""
    rng = np.random.default_rng(seed)
    representative = {}
    for model in sorted(queries):
        representative.setdefault(slice_of[model], model)
    keys = sorted(representative)
    rows = []
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            parts = [
                queries[representative[key]][
                    rng.choice(len(queries[representative[key]]), per_slice, replace=False)
                ]
                for key in (first, second)
            ]
            weights = mixture(np.concatenate(parts), specs)
            on_truth = sum(w for m, w in weights.items() if slice_of[m] in (first, second))
            rows.append((representative[first], representative[second], on_truth))
    return pl.DataFrame(rows, schema=["first", "second", "weight_on_true_slices"], orient="row")
