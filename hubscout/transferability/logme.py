"""LogME: the log marginal evidence of Bayesian linear regression from features to labels.

You et al., "LogME: Practical Assessment of Pre-trained Models for Transfer Learning"
(ICML 2021) and "Ranking and Tuning Pre-trained Models" (JMLR 2022). Each one-hot column y_c
gets w ~ N(0, alpha^-1 I_D) and noise beta^-1; alpha and beta maximise the evidence
L_c = N/2 log beta + D/2 log alpha - N/2 log 2 pi - beta/2 |y - F m|^2 - alpha/2 |m|^2
      - 1/2 log |alpha I_D + beta F^T F|,
and LogME = sum_c L_c / (N C).

Unlike the common fixed-point implementation, the log-determinant runs over all D eigenvalues
(the D - k zero ones contribute log alpha each), so the value is right when N < D, and the
updates have no absolute epsilon, so the value does not depend on the scale of the features.
All classes iterate at once on one eigendecomposition.
"""

import numpy as np

from hubscout.transferability.target import Target

MAX_ITERATIONS = 500
RELATIVE_TOLERANCE = 1e-12
# The evidence can peak at a boundary, where it tends to a finite limit: t = alpha / beta
# goes to 0 when N < D lets a class be fit without noise, and to infinity when the features
# explain nothing of it (w = 0). t stops at these multiples of the largest eigenvalue, where
# the evidence equals its limit to double precision.
RELATIVE_T_FLOOR = 1e-13
RELATIVE_T_CEILING = 1e13


def logme_evidence(target: Target) -> np.ndarray:
    """The maximised evidence L_c / N of every class [C] (float64)."""
    sigma, z = target.gram_eigen
    n, d = target.n_samples, target.dim
    z2 = z**2  # [k, C]
    outside = np.maximum(target.counts - z2.sum(axis=0), 0.0)  # |y|^2 outside F's span
    # t = alpha / beta starts at the mean eigenvalue, so scaling F by c scales every iterate
    # of t by c^2 and the evidence is exactly invariant.
    t = np.full(target.n_classes, sigma.mean())
    floor, ceiling = RELATIVE_T_FLOOR * sigma.max(), RELATIVE_T_CEILING * sigma.max()
    for _ in range(MAX_ITERATIONS):
        gamma, m2, residual = _posterior_terms(sigma, z2, outside, t)
        t_next = np.clip(gamma * residual / (m2 * (n - gamma)), floor, ceiling)
        done = np.abs(t_next - t) <= RELATIVE_TOLERANCE * t
        t = t_next
        if done.all():
            break
    gamma, m2, residual = _posterior_terms(sigma, z2, outside, t)
    alpha, beta = gamma / m2, (n - gamma) / residual
    log_det = np.log(alpha[None, :] + beta[None, :] * sigma[:, None]).sum(axis=0)
    log_det += (d - len(sigma)) * np.log(alpha)
    evidence = (
        n / 2 * np.log(beta)
        + d / 2 * np.log(alpha)
        - n / 2 * np.log(2 * np.pi)
        - beta / 2 * residual
        - alpha / 2 * m2
        - log_det / 2
    )
    return evidence / n


def _posterior_terms(
    sigma: np.ndarray, z2: np.ndarray, outside: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gamma, |m|^2 and |y - F m|^2 of every class for t = alpha / beta."""
    shrink = sigma[:, None] + t[None, :]  # [k, C]
    gamma = (sigma[:, None] / shrink).sum(axis=0)
    m2 = (sigma[:, None] * z2 / shrink**2).sum(axis=0)
    residual = (z2 * (t[None, :] / shrink) ** 2).sum(axis=0) + outside
    return gamma, m2, residual


def logme(target: Target) -> float:
    """LogME of features [N, D] for labels [N]: mean evidence per sample and class; higher is
    better. Scale-invariant, deterministic, needs no source head."""
    return float(logme_evidence(target).mean())
