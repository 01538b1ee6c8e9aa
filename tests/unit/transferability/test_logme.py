import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

from hubscout.transferability.logme import logme, logme_evidence
from hubscout.transferability.target import Target

from .conftest import blobs


def direct_evidence(features: np.ndarray, y: np.ndarray) -> float:
    """max over (alpha, beta) of the evidence / N, written independently of hubscout as the
    Gaussian marginal likelihood y ~ N(0, F F^T / alpha + I_N / beta) (the paper's evidence
    with w integrated out), maximised numerically from a grid of starts (no fixed point, no
    SVD).

    The N x N covariance always holds I_N / beta, so its Cholesky factor stays well
    conditioned when alpha is tiny at N < D, where a D x D factor of alpha I + beta F^T F
    loses digits (it was off by 5e-6 on one machine at N=50, D=120).
    """
    n = len(y)
    outer = features @ features.T

    def negative(log_variances: np.ndarray) -> float:
        weight_variance, noise_variance = np.exp(log_variances)
        factor = scipy.linalg.cho_factor(weight_variance * outer + noise_variance * np.eye(n))
        quadratic = y @ scipy.linalg.cho_solve(factor, y)
        log_det = 2 * np.log(np.diag(factor[0])).sum()
        return (quadratic + log_det + n * np.log(2 * np.pi)) / (2 * n)

    scale = np.log(np.trace(outer) / n)  # log of the mean squared feature norm
    starts = [(w - scale, v) for w in (-8.0, -2.0, 2.0) for v in (-8.0, -2.0, 0.0)]
    options = {"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000}
    best = min(
        (
            scipy.optimize.minimize(negative, np.array(x0), method="Nelder-Mead", options=options)
            for x0 in starts
        ),
        key=lambda result: result.fun,
    )
    return -best.fun


def popular_fixed_point(features: np.ndarray, labels: np.ndarray) -> float:
    """The widely copied fixed-point LogME: 11 iterations at most, +1e-5 in the updates and
    the log-determinant summed over the k = min(N, D) singular values only."""
    n, d = features.shape
    u, s, _ = np.linalg.svd(features, full_matrices=False)
    sigma = s**2
    evidences = []
    for c in np.unique(labels):
        y = (labels == c).astype(np.float64)
        z2 = (u.T @ y) ** 2
        outside = y @ y - z2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = np.sum(sigma / (sigma + t))
            m2 = np.sum(sigma * z2 / (t + sigma) ** 2)
            res2 = np.sum(z2 / (1 + sigma / t) ** 2) + outside
            alpha, beta = gamma / (m2 + 1e-5), (n - gamma) / (res2 + 1e-5)
            evidence = (
                d / 2 * np.log(alpha)
                + n / 2 * np.log(beta)
                - n / 2 * np.log(2 * np.pi)
                - beta / 2 * res2
                - alpha / 2 * m2
                - np.sum(np.log(alpha + beta * sigma)) / 2
            ) / n
            if abs(alpha / beta - t) / t <= 1e-3:
                break
        evidences.append(evidence)
    return float(np.mean(evidences))


@pytest.mark.parametrize(("n", "d"), [(120, 12), (40, 90), (50, 120), (20, 300)])
def test_logme_matches_direct_maximisation_of_the_evidence(n, d):
    features, labels = blobs(per_class=n // 4, dim=d, classes=4, separation=0.7, seed=n)
    target = Target(features, labels)
    direct = [direct_evidence(features, target.one_hot[:, c]) for c in range(4)]
    np.testing.assert_allclose(logme_evidence(target), direct, atol=1e-6)


def test_logme_is_right_when_there_are_fewer_samples_than_dimensions():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 100)
    features = rng.normal(0, 1, (300, 1024)) + rng.normal(0, 0.3, (3, 1024))[labels]
    # the direct maximisation agrees at N < D above (40 x 90, 50 x 120, 20 x 300)
    target = Target(features, labels)
    value, popular = logme(target), popular_fixed_point(features, labels)
    assert popular - value > 5, (value, popular)  # the shortcut is far off, not rounding


def test_logme_does_not_depend_on_the_feature_scale(informative):
    features, labels = informative
    values = [logme(Target(features * scale, labels)) for scale in (1e-4, 1.0, 100.0, 1e4)]
    np.testing.assert_allclose(values, values[1], rtol=1e-9)


def test_logme_prefers_informative_features(informative, noise):
    assert logme(Target(*informative)) > logme(Target(*noise))
