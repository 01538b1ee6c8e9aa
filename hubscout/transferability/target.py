"""The validated target of a transferability metric, with the decompositions metrics share.

A `Target` holds features [N, D] as a float64 copy (the caller's array is never touched),
labels remapped to 0..C-1 (any integers or strings are accepted) and optional source
probabilities [N, Cs]. Decompositions several metrics need (the centred covariance's
eigendecomposition, the within-class scatter, the raw Gram eigendecomposition LogME uses)
are computed once, on first use.
"""

import warnings
from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

import numpy as np
import scipy.linalg

from hubscout.errors import TransferabilityInputError

PROBABILITY_TOLERANCE = 1e-4
RELATIVE_EIGEN_FLOOR = 1e-12
# In-sample fits (a pinv covariance, LDA) score pure noise highly until N is several times
# D + C. Measured on pure-noise features, D in {64, 128, 256}, C in {4, 10, 17}
# (tests/unit/transferability/test_target.py): at N = 2 (D + C) SFDA is still up to 0.68 of
# the way from chance to its ceiling of 1 and H-score 0.47 of its ceiling C - 1; at
# N = 3 (D + C) at most 0.44 and 0.34. A score is flagged below N = 3 (D + C).
SATURATION_SAMPLES_PER_DIMENSION = 3
T = TypeVar("T")


class SaturationWarning(UserWarning):
    """A score that is saturated by the sample size and carries little class signal."""


class Target:
    """Features, remapped labels and optional source probabilities of one (model, task) pair."""

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray,
        source_probs: np.ndarray | None = None,
    ) -> None:
        features = np.array(features, dtype=np.float64, copy=True)
        labels = np.asarray(labels)
        if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
            raise TransferabilityInputError(
                f"features must be a non-empty 2-D array [N, D], got shape {features.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(features):
            raise TransferabilityInputError(
                f"{len(features)} feature rows but labels of shape {labels.shape}: "
                "give one label per row"
            )
        if not np.isfinite(features).all():
            bad = int((~np.isfinite(features)).any(axis=1).sum())
            raise TransferabilityInputError(
                f"{bad} feature rows hold NaN or infinite values: "
                "re-extract the features or drop those samples"
            )
        classes, remapped, counts = np.unique(labels, return_inverse=True, return_counts=True)
        if len(classes) < 2:
            raise TransferabilityInputError(
                f"labels hold {len(classes)} class: a target task needs at least 2 classes"
            )
        if counts.min() < 2:
            small = [str(c) for c, n in zip(classes, counts, strict=True) if n < 2]
            raise TransferabilityInputError(
                f"classes {', '.join(small)} have fewer than 2 samples: "
                "label at least 2 examples per class or drop the class"
            )
        self.features = features
        self.labels = remapped.astype(np.int64)
        self.classes = classes
        self.counts = counts.astype(np.int64)
        self.source_probs = (
            None if source_probs is None else _checked_probs(source_probs, len(features))
        )
        self._shared: dict[str, object] = {}

    @property
    def n_samples(self) -> int:
        """N."""
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        """D."""
        return self.features.shape[1]

    @property
    def n_classes(self) -> int:
        """C."""
        return len(self.classes)

    @cached_property
    def priors(self) -> np.ndarray:
        """Class frequencies n_c / N [C]."""
        return self.counts / self.n_samples

    @cached_property
    def one_hot(self) -> np.ndarray:
        """One-hot labels [N, C] in float64."""
        encoded = np.zeros((self.n_samples, self.n_classes))
        encoded[np.arange(self.n_samples), self.labels] = 1.0
        return encoded

    @cached_property
    def mean(self) -> np.ndarray:
        """Mean feature [D]."""
        return self.features.mean(axis=0)

    @cached_property
    def centred(self) -> np.ndarray:
        """Features minus their mean [N, D]."""
        return self.features - self.mean

    @cached_property
    def class_means(self) -> np.ndarray:
        """Mean feature of every class [C, D]."""
        return (self.one_hot.T @ self.features) / self.counts[:, None]

    @cached_property
    def covariance_eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (descending, >= 0) and eigenvectors [D, D] of the biased covariance.

        Each eigenvector's largest entry is positive (sklearn's PCA sign convention): PARC's
        row correlations change with the signs of the principal components."""
        values, vectors = scipy.linalg.eigh(
            self.centred.T @ self.centred / self.n_samples, driver="evd"
        )
        vectors = vectors[:, ::-1]
        largest = vectors[np.abs(vectors).argmax(axis=0), np.arange(self.dim)]
        return values[::-1].clip(min=0.0), vectors * np.where(largest < 0, -1.0, 1.0)

    @cached_property
    def within_scatter(self) -> np.ndarray:
        """S_w = sum_c pi_c Cov(X_c) (biased covariances) [D, D]."""
        within = self.features - self.class_means[self.labels]
        return within.T @ within / self.n_samples

    @cached_property
    def gram_eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Nonzero spectrum of the raw features F: (sigma_i = s_i^2 [k], Z = U^T Y [k, C]).

        Uses the smaller of F^T F [D, D] and F F^T [N, N]; eigenvalues below
        RELATIVE_EIGEN_FLOOR * the largest count as zero (their directions carry no signal).
        """
        features = self.features
        if self.n_samples > self.dim:
            values, vectors = scipy.linalg.eigh(features.T @ features, driver="evd")
            keep = values > RELATIVE_EIGEN_FLOOR * values.max()
            sigma = values[keep]
            projected = vectors[:, keep].T @ (features.T @ self.one_hot)
            z = projected / np.sqrt(sigma)[:, None]
        else:
            values, vectors = scipy.linalg.eigh(features @ features.T, driver="evd")
            keep = values > RELATIVE_EIGEN_FLOOR * values.max()
            sigma = values[keep]
            z = vectors[:, keep].T @ self.one_hot
        return sigma, z

    def pca(self, n_components: int) -> np.ndarray:
        """Centred features projected on the top principal directions [N, n_components]."""
        _, vectors = self.covariance_eigen
        n_components = min(n_components, self.dim)
        return self.centred @ vectors[:, :n_components]

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """compute() once per target under `key`: intermediate results several metrics use."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]  # type: ignore[return-value]

    def saturated(self, fit_dims: int | None = None) -> bool:
        """N < 3 (d + C): an in-sample fit on d dimensions (D unless given) scores pure
        noise close to its ceiling, so its score carries little class signal."""
        dims = self.dim if fit_dims is None else min(fit_dims, self.dim)
        return self.n_samples < SATURATION_SAMPLES_PER_DIMENSION * (dims + self.n_classes)

    def warn_if_saturated(self, metric: str, what: str, fit_dims: int | None = None) -> None:
        """Warn (SaturationWarning) when `metric`, fitted in-sample on `fit_dims` dimensions,
        is saturated."""
        if self.saturated(fit_dims):
            dims = self.dim if fit_dims is None else min(fit_dims, self.dim)
            warnings.warn(
                f"{metric}: N={self.n_samples} < {SATURATION_SAMPLES_PER_DIMENSION} (d + C) = "
                f"{SATURATION_SAMPLES_PER_DIMENSION * (dims + self.n_classes)} with d={dims}, "
                f"C={self.n_classes}: {what}; label more samples or reduce the features (PCA) "
                "before comparing models",
                SaturationWarning,
                stacklevel=3,
            )


def _checked_probs(source_probs: np.ndarray, n_samples: int) -> np.ndarray:
    probs = np.array(source_probs, dtype=np.float64, copy=True)
    if probs.ndim != 2 or probs.shape[0] != n_samples:
        raise TransferabilityInputError(
            f"source probabilities must be [N={n_samples}, Cs], got shape {probs.shape}"
        )
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise TransferabilityInputError(
            "source probabilities hold negative, NaN or infinite values: pass softmax outputs"
        )
    if np.abs(probs.sum(axis=1) - 1.0).max() > PROBABILITY_TOLERANCE:
        raise TransferabilityInputError(
            "source probability rows do not sum to 1: pass softmax outputs, not logits"
        )
    return probs
