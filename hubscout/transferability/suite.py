"""The metric suite: every transferability metric with its metadata, and pool scoring.

`METRICS[name](features [N, D], labels [N], source_probs [N, Cs] | None, seed=0) -> float`
scores one model (higher is better). `score_pool` scores many models on one task from one
`Target` per model, so decompositions are shared across metrics, and computes pool-relative
metrics (ETran, NCTI: per-model terms min-maxed across the pool, as their authors do)
jointly. `Metric.saturated(target)` says when a score fitted in-sample carries little signal.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hubscout.errors import TransferabilityInputError
from hubscout.transferability import metrics
from hubscout.transferability.logme import logme
from hubscout.transferability.target import Target


@dataclass(frozen=True)
class Metric:
    """One transferability metric and what it needs."""

    name: str
    paper: str
    compute: Callable[[Target, int], float] | None  # None: pool-relative, see score_pool
    needs_source_probs: bool = False
    stochastic: bool = False
    scale_invariant: bool = False
    fits_in_sample: bool = False  # saturates (and warns) while Target.saturated(fit_dims)
    fit_dims: int | None = None  # the dimensions its in-sample fit sees (None: D)
    pool_terms: Callable[[Target], np.ndarray] | None = None  # per model [K], pool-relative
    pool_combine: Callable[[np.ndarray], np.ndarray] | None = None  # [M, K] -> scores [M]

    @property
    def pool_relative(self) -> bool:
        """Scores models relative to each other (ETran, NCTI): only `score_pool` computes it."""
        return self.compute is None

    def saturated(self, target: Target) -> bool:
        """Whether this metric's score of `target` is saturated by its in-sample fit."""
        return self.fits_in_sample and target.saturated(self.fit_dims)

    def __call__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        source_probs: np.ndarray | None = None,
        seed: int = 0,
    ) -> float:
        """Score one model; a pool-relative metric needs `score_pool` instead."""
        if self.pool_relative:
            raise TransferabilityInputError(
                f"{self.name} scores models relative to each other: call score_pool with "
                "every candidate's features"
            )
        return self.compute(Target(features, labels, source_probs), seed)


def _deterministic(function: Callable[[Target], float]) -> Callable[[Target, int], float]:
    return lambda target, seed: function(target)


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("logme", "You et al., ICML 2021", _deterministic(logme), scale_invariant=True),
        Metric(
            "leep",
            "Nguyen et al., ICML 2020",
            _deterministic(metrics.leep),
            needs_source_probs=True,
            scale_invariant=True,
        ),
        Metric(
            "nce",
            "Tran et al., ICCV 2019",
            _deterministic(metrics.nce),
            needs_source_probs=True,
            scale_invariant=True,
        ),
        Metric(
            "n_leep",
            "Li et al., CVPR 2021",
            metrics.n_leep,
            stochastic=True,
            scale_invariant=True,
        ),
        Metric(
            "h_score",
            "Bao et al., ICIP 2019",
            _deterministic(metrics.h_score),
            scale_invariant=True,
            fits_in_sample=True,
        ),
        Metric(
            "shrinkage_h_score",
            "Ibrahim et al., 2022",
            _deterministic(metrics.shrinkage_h_score),
            scale_invariant=True,
        ),
        Metric("gbc", "Pandy et al., CVPR 2022", _deterministic(metrics.gbc)),
        Metric(
            "transrate",
            "Huang et al., ICML 2022",
            _deterministic(metrics.transrate),
            scale_invariant=True,
        ),
        Metric(
            "sfda",
            "Shao et al., ECCV 2022",
            _deterministic(metrics.sfda),
            fits_in_sample=True,
        ),
        Metric(
            "parc", "Bolya et al., NeurIPS 2021", _deterministic(metrics.parc), scale_invariant=True
        ),
        Metric("pactran_gauss", "Ding et al., ECCV 2022", metrics.pactran_gauss, stochastic=True),
        Metric(
            "etran",
            "Gholami et al., ICCV 2023",
            None,
            fits_in_sample=True,
            pool_terms=metrics.etran_components,
            pool_combine=metrics.etran_from_components,
        ),
        Metric(
            "ncti",
            "Wang et al., ICCV 2023",
            None,
            fits_in_sample=True,
            fit_dims=metrics.NCTI_DIMS,
            pool_terms=metrics.ncti_components,
            pool_combine=metrics.ncti_from_components,
        ),
        Metric(
            "knn",
            "k-NN as a Simple and Effective Estimator of Transferability",
            _deterministic(metrics.knn_accuracy),
            scale_invariant=True,
        ),
    )
}


def parse_metrics(names: str | Sequence[str] | None) -> list[str]:
    """Metric names from 'logme,sfda' or a list; None means every metric."""
    if names is None:
        return list(METRICS)
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise TransferabilityInputError(
            f"unknown metric(s) {', '.join(unknown) or '(none given)'}: choose from "
            + ", ".join(METRICS)
        )
    repeated = sorted({name for name in names if list(names).count(name) > 1})
    if repeated:
        raise TransferabilityInputError(
            f"metric(s) {', '.join(repeated)} listed more than once: name each metric once"
        )
    return list(names)


def score_pool(
    targets: Mapping[str, Target], names: Sequence[str], seed: int = 0
) -> dict[str, dict[str, float]]:
    """metric -> model -> score for every model of a pool on one task.

    A metric that needs source probabilities scores only models that have them (a model
    without a source head gets no entry); ETran's and NCTI's terms are min-maxed across the
    pool.
    """
    scores: dict[str, dict[str, float]] = {}
    for name in names:
        metric = METRICS[name]
        if metric.pool_relative:
            models = list(targets)
            terms = np.stack([metric.pool_terms(targets[m]) for m in models])
            scores[name] = dict(zip(models, map(float, metric.pool_combine(terms)), strict=True))
            continue
        scores[name] = {
            model: metric.compute(target, seed)
            for model, target in targets.items()
            if target.source_probs is not None or not metric.needs_source_probs
        }
    return scores
