"""Transferability metrics other than LogME. Each takes a validated `Target` and returns a
float where higher means the model should transfer better; see `suite.METRICS` for the
metadata (source head, pool-relative, stochastic, scale-invariant) and the plain-array API.
"""

import warnings

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.special import logsumexp, softmax
from scipy.stats import spearmanr
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.mixture import GaussianMixture

from hubscout.errors import TransferabilityInputError
from hubscout.transferability.target import RELATIVE_EIGEN_FLOOR, Target

NLEEP_VARIANCE_KEPT = 0.8
NLEEP_MAX_DIMS = 64
NLEEP_COMPONENTS_PER_CLASS = 5
NLEEP_FULL_COVARIANCE_BUDGET = 2_000_000  # components * dims^2 above this: diagonal
GBC_DIMS = 64
GBC_VARIANCE_FLOOR = 1e-4
TRANSRATE_EPS2 = 1e-4
PARC_DIMS = 32
PACTRAN_LAMBDA = 1.0
PACTRAN_S2_FACTOR = 100.0
PACTRAN_MAX_ITERATIONS = 100
NCTI_DIMS = 64
NCTI_SHRINKAGE_DIMS = 32
NCTI_SHRINKAGE_FLOOR = 1e-10  # at the floor the authors switch to sklearn's SVD solver
ETRAN_ENERGY_PERCENT = 0.5  # the authors' `percent`: the lowest int(10 p) N / 1000 energies
ETRAN_ENERGY_WEIGHT = 0.15  # the authors' tw.py: 0.15 energy + 0.85 LDA after min-max
KNN_NEIGHBOURS = 5
KNN_CHUNK = 1024


# Source-head metrics ---------------------------------------------------------------------


def leep(target: Target) -> float:
    """LEEP (Nguyen et al., ICML 2020): mean log of the expected empirical prediction
    sum_z P(y_i | z) theta_z(x_i), from source probabilities theta [N, Cs]."""
    return _leep_from(target, _source_probs(target, "LEEP"))


def nce(target: Target) -> float:
    """NCE (Tran et al., ICCV 2019): -H(Y | Z) with Z the source head's argmax class."""
    predicted = _source_probs(target, "NCE").argmax(axis=1)
    joint = np.zeros((target.n_classes, predicted.max() + 1))
    np.add.at(joint, (target.labels, predicted), 1.0 / target.n_samples)
    conditional = joint / joint.sum(axis=0).clip(min=1e-300)  # unpredicted z: columns of 0
    seen = joint > 0
    return float((joint[seen] * np.log(conditional[seen])).sum())


def n_leep(target: Target, seed: int) -> float:
    """N-LEEP (Li et al., "Ranking Neural Checkpoints", CVPR 2021): LEEP with the posteriors
    of a Gaussian mixture (5 C components) on PCA features keeping 80% of the variance.

    Capped at 64 PCA dimensions and diagonal covariances when full ones would exceed
    NLEEP_FULL_COVARIANCE_BUDGET parameters, so it stays usable at C = 100; `seed` fixes
    the mixture's initialisation.
    """
    values, _ = target.covariance_eigen
    kept = np.cumsum(values) / values.sum()
    dims = int(min(np.searchsorted(kept, NLEEP_VARIANCE_KEPT) + 1, NLEEP_MAX_DIMS))
    reduced = target.pca(dims) / np.sqrt(values[:dims].mean())
    components = min(NLEEP_COMPONENTS_PER_CLASS * target.n_classes, target.n_samples // 2)
    full = components * dims**2 <= NLEEP_FULL_COVARIANCE_BUDGET
    mixture = GaussianMixture(
        components,
        covariance_type="full" if full else "diag",
        random_state=seed,
        max_iter=100,
        reg_covar=1e-4,
    )
    posteriors = mixture.fit(reduced).predict_proba(reduced)
    return _leep_from(target, posteriors)


def _leep_from(target: Target, theta: np.ndarray) -> float:
    joint = target.one_hot.T @ theta / target.n_samples  # [C, Cs]
    marginal = joint.sum(axis=0)
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    expected = (theta * conditional[target.labels]).sum(axis=1)
    return float(np.mean(np.log(expected)))


def _source_probs(target: Target, metric: str) -> np.ndarray:
    if target.source_probs is None:
        raise TransferabilityInputError(
            f"{metric} needs the source head's probabilities [N, Cs]: pass source_probs, "
            "or use a metric that needs only features"
        )
    return target.source_probs


# Covariance metrics ----------------------------------------------------------------------


def h_score(target: Target) -> float:
    """H-score (Bao et al., ICIP 2019): tr(pinv(Cov f) Cov g) with g_i = E[f | y_i].

    Reaches its ceiling C - 1 at N <= D (pinv of a rank-deficient covariance) and stays
    inflated above it; it warns while `Target.saturated()`.
    """
    target.warn_if_saturated("H-score", "pinv(Cov f) pushes H towards its ceiling C - 1")
    values, vectors = target.covariance_eigen
    keep = values > RELATIVE_EIGEN_FLOOR * values[0] * target.dim
    between = (target.class_means - target.mean) @ vectors[:, keep]  # [C, k]
    return float((target.priors[:, None] * between**2 / values[keep]).sum())


def shrinkage_h_score(target: Target) -> float:
    """Shrinkage H-score (Ibrahim, Ponomareva and Mazumder, "Newer is not always better",
    2022): tr(((1-a) Cov f + a tr(Cov f)/D I)^-1 (1-a) Cov g) with a from Ledoit-Wolf.
    Stays informative when N <= D."""
    values, vectors = target.covariance_eigen
    alpha = ledoit_wolf_shrinkage(target)
    shrunk = (1 - alpha) * values + alpha * values.sum() / target.dim
    between = (target.class_means - target.mean) @ vectors  # [C, D]
    return float((target.priors[:, None] * (1 - alpha) * between**2 / shrunk).sum())


def ledoit_wolf_shrinkage(target: Target) -> float:
    """The Ledoit-Wolf shrinkage of the centred features' covariance, from its eigenvalues."""
    values, _ = target.covariance_eigen
    n, d = target.n_samples, target.dim
    mu = values.sum() / d
    frobenius2 = (values**2).sum()  # |S|_F^2
    fourth = ((target.centred**2).sum(axis=1) ** 2).sum()  # sum_i |x_i|^4
    beta = (fourth / n - frobenius2) / (d * n)
    delta = (frobenius2 - d * mu**2) / d
    return 0.0 if delta <= 0 else float(min(beta, delta) / delta)


def gbc(target: Target, gaussian: str = "spherical") -> float:
    """GBC (Pandy et al., CVPR 2022): -sum over class pairs of the Bhattacharyya coefficient
    of per-class Gaussians on 64 PCA dimensions (spherical by default, or "diagonal").

    Sums over C (C - 1) pairs, so it is comparable across models, not across targets; the
    variance floor 1e-4 is absolute, so it depends on the feature scale. Spherical Gaussians
    count the log-variance term of D_B once per dimension, as their d x d determinants give
    it; the authors' code adds it once in all (tests/unit/transferability shows both values).
    """
    reduced = target.pca(GBC_DIMS)
    means = target.one_hot.T @ reduced / target.counts[:, None]
    squares = target.one_hot.T @ reduced**2 / target.counts[:, None]
    variances = np.maximum(squares - means**2, GBC_VARIANCE_FLOOR)  # [C, d]
    if gaussian == "spherical":
        variances = np.repeat(variances.mean(axis=1, keepdims=True), reduced.shape[1], axis=1)
    elif gaussian != "diagonal":
        raise TransferabilityInputError(f"GBC gaussian must be spherical or diagonal: {gaussian}")
    pooled = (variances[:, None, :] + variances[None, :, :]) / 2  # [C, C, d]
    gap = (means[:, None, :] - means[None, :, :]) ** 2
    distance = (gap / pooled).sum(axis=2) / 8 + 0.5 * (
        np.log(pooled).sum(axis=2)
        - 0.5 * (np.log(variances).sum(axis=1)[:, None] + np.log(variances).sum(axis=1)[None, :])
    )
    coefficient = np.exp(-distance)
    np.fill_diagonal(coefficient, 0.0)
    return float(-coefficient.sum())


def transrate(target: Target) -> float:
    """TransRate (Huang et al., ICML 2022): R(Z) - sum_c (n_c / n) R(Z_c), with the coding
    rate R(Z) = 1/2 logdet(I + Z^T Z / (n eps^2)) of centred, L2-normalised features.

    Classes weigh by their size (a uniform 1/C is a known bug), eps^2 = 1e-4.
    """
    normalised = target.centred / np.linalg.norm(target.centred, axis=1, keepdims=True).clip(
        min=1e-300
    )
    rate = _coding_rate(normalised)
    per_class = [_coding_rate(normalised[target.labels == c]) for c in range(target.n_classes)]
    return float(rate - np.dot(target.priors, per_class))


def _coding_rate(rows: np.ndarray) -> float:
    n = len(rows)
    gram = rows @ rows.T if n < rows.shape[1] else rows.T @ rows
    values = scipy.linalg.eigvalsh(gram).clip(min=0.0)
    return float(0.5 * np.log1p(values / (n * TRANSRATE_EPS2)).sum())


# LDA metrics -----------------------------------------------------------------------------


def sfda(target: Target) -> float:
    """SFDA (Shao et al., ECCV 2022): mean in-sample posterior of the true class under a
    regularised Fisher LDA refitted on ConfMix features (each sample pulled towards the
    other classes' means by its own LDA confidence).

    In-sample LDA fits any labels when N <= D and stays inflated above it; it warns while
    `Target.saturated()`.
    """
    target.warn_if_saturated("SFDA", "in-sample LDA separates even random labels")
    shrinkage, posteriors = _sfda_first_stage(target)
    rows = np.arange(target.n_samples)
    confidence = softmax(posteriors, axis=1)[rows, target.labels]
    means = target.class_means
    others = (means.sum(axis=0) - means[target.labels]) / (target.n_classes - 1)
    mixed = confidence[:, None] * target.features + (1 - confidence[:, None]) * others
    mixed_means = target.one_hot.T @ mixed / target.counts[:, None]
    within = mixed - mixed_means[target.labels]
    refit = lda_posteriors(
        mixed, mixed_means, target.priors, within.T @ within / target.n_samples, shrinkage
    )
    return float(refit[rows, target.labels].mean())


def etran_components(target: Target) -> np.ndarray:
    """ETran's per-model terms (Gholami et al., ICCV 2023) [energy, lda] for classification.

    energy: the mean logsumexp of the features read as logits over the lowest-energy 0.5% of
    the samples (at least one), as the authors' `Energy_Score(features, 0.5, 'bot')` selects
    them. lda: the mean in-sample LDA posterior of the true class (SFDA's first stage), the
    paper's S_LDA. The authors' code differs here: it calls `eigh` on the non-symmetric
    inv(S_w) S_b, whose orthonormal eigenvectors make W = mu V V^T = mu, an identity-covariance
    nearest-mean rule; hubscout fits the LDA the paper describes (the tests show both values).
    Combine a pool's terms with `etran_from_components`."""
    target.warn_if_saturated("ETran", "its in-sample LDA term separates even random labels")
    energies = np.sort(logsumexp(target.features, axis=1))
    lowest = max(int(ETRAN_ENERGY_PERCENT * 10) * target.n_samples // 1000, 1)
    _, posteriors = _sfda_first_stage(target)
    lda = posteriors[np.arange(target.n_samples), target.labels].mean()
    return np.array([energies[:lowest].mean(), lda])


def etran_from_components(components: np.ndarray) -> np.ndarray:
    """ETran of every model in a pool [M] from their terms [M, 2]: each term min-maxed across
    the pool, then 0.15 energy + 0.85 lda, as the authors' `tw.py` combines them. Without the
    min-max the energy, which grows with the feature scale, decides the ranking alone."""
    scaled = min_max_across_pool(components)
    return ETRAN_ENERGY_WEIGHT * scaled[:, 0] + (1 - ETRAN_ENERGY_WEIGHT) * scaled[:, 1]


def min_max_across_pool(components: np.ndarray) -> np.ndarray:
    """Each column of [M, K] scaled to [0, 1] across the pool (a constant column gives 0)."""
    low, high = components.min(axis=0), components.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (components - low) / span


def _sfda_first_stage(target: Target) -> tuple[float, np.ndarray]:
    """SFDA's shrinkage max(exp(-5 lambda_max(S_w)), 1e-10) and in-sample LDA posteriors."""

    def compute() -> tuple[float, np.ndarray]:
        within = target.within_scatter
        top = scipy.linalg.eigh(within, eigvals_only=True, subset_by_index=[len(within) - 1] * 2)
        shrinkage = float(max(np.exp(-5 * top[0]), 1e-10))
        posteriors = lda_posteriors(
            target.features, target.class_means, target.priors, within, shrinkage
        )
        return shrinkage, posteriors

    return target.shared("sfda-lda", compute)


def lda_posteriors(
    features: np.ndarray,
    class_means: np.ndarray,
    priors: np.ndarray,
    within: np.ndarray,
    shrinkage: float,
) -> np.ndarray:
    """p(y | x) [N, C] of LDA with the within-class scatter shrunk towards tr(S_w)/D I."""
    shrunk = shrink(within, shrinkage)
    coef = scipy.linalg.solve(shrunk, class_means.T, assume_a="sym").T  # mu_c S^-1 [C, D]
    intercept = -0.5 * (class_means * coef).sum(axis=1) + np.log(priors)
    return softmax(features @ coef.T + intercept, axis=1)


def shrink(scatter: np.ndarray, shrinkage: float) -> np.ndarray:
    """(1 - s) S + s tr(S)/D I."""
    shrunk = (1 - shrinkage) * scatter
    shrunk[np.diag_indices_from(shrunk)] += shrinkage * np.trace(scatter) / len(scatter)
    return shrunk


# Other feature metrics ---------------------------------------------------------------------


def parc(target: Target) -> float:
    """PARC (Bolya et al., NeurIPS 2021): 100 x Spearman correlation between the pairwise
    feature dissimilarities 1 - corr (32 PCA dimensions, standardised) and the label ones.
    Memory grows as N^2."""
    reduced = target.pca(PARC_DIMS) if target.dim > PARC_DIMS else target.centred
    spread = reduced.std(axis=0)
    reduced = reduced[:, spread > 0] / spread[spread > 0]
    upper = np.triu_indices(target.n_samples, k=1)
    feature_distance = (1 - np.corrcoef(reduced))[upper]
    label_distance = (1 - np.corrcoef(target.one_hot))[upper]
    return float(100 * spearmanr(feature_distance, label_distance).statistic)


def pactran_gauss(target: Target, seed: int) -> float:
    """PACTran-Gauss (Ding et al., ECCV 2022), negated so higher is better: the PAC-Bayes
    bound of a Gaussian-prior linear head, L(theta*) + KD/(2 lambda N) s^2 log(tr H lambda N
    / KD), with theta* from L-BFGS (100 iterations, random start from `seed`), lambda = 1,
    s^2 = 100 / D, on centred features."""
    features, labels = target.centred, target.one_hot
    n, d, c = target.n_samples, target.dim, target.n_classes
    prior = PACTRAN_LAMBDA * n
    kd = d * c

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[: d * c].reshape(d, c), theta[d * c :]
        logits = features @ weights + bias
        log_q = logits - logsumexp(logits, axis=1, keepdims=True)
        loss = -(labels * log_q).sum() / n + 0.5 * (weights**2).sum() / prior
        residual = (np.exp(log_q) - labels) / n
        grad = np.concatenate([(features.T @ residual + weights / prior).ravel(), residual.sum(0)])
        return loss, grad

    start = np.concatenate([np.random.default_rng(seed).normal(0, 0.03, kd), np.zeros(c)])
    result = scipy.optimize.minimize(
        loss_and_grad,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": PACTRAN_MAX_ITERATIONS},
        tol=1e-6,
    )
    weights, bias = result.x[:kd].reshape(d, c), result.x[kd:]
    probs = softmax(features @ weights + bias, axis=1)
    curvature = probs - probs**2
    hessian_trace = (features**2).T.dot(curvature).sum() + kd / prior + curvature.sum()
    sigma2_inv = hessian_trace * prior / kd + 1e-10
    bound = result.fun + 0.5 * kd / prior * (PACTRAN_S2_FACTOR / d) * np.log(sigma2_inv)
    return float(-bound)


def ncti_components(target: Target) -> np.ndarray:
    """NCTI's per-model terms (Wang et al., ICCV 2023) [seli, ncc, vc] on 64 PCA dimensions,
    as the authors' `NCTI_Score` computes them: sklearn's LDA with shrinkage exp(-sum of the
    top-32 PCA variances), or its SVD solver when that shrinkage is at the 1e-10 floor (a
    near-singular eigenproblem otherwise); seli is the nuclear norm of the centred LDA
    projections, ncc the mean posterior of the true class and vc log sum_c |P_c|_*.
    Combine a pool's terms with `ncti_from_components`."""
    target.warn_if_saturated("NCTI", "its in-sample LDA separates even random labels", NCTI_DIMS)
    values, _ = target.covariance_eigen
    reduced = target.pca(NCTI_DIMS)
    unbiased = values[:NCTI_SHRINKAGE_DIMS] * target.n_samples / (target.n_samples - 1)
    shrinkage = float(max(np.exp(-unbiased.sum()), NCTI_SHRINKAGE_FLOOR))
    if shrinkage == NCTI_SHRINKAGE_FLOOR:
        lda = LinearDiscriminantAnalysis(solver="svd")
    else:
        lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn: "Variables are collinear"
        projections = lda.fit_transform(reduced, target.labels)
        posteriors = lda.predict_proba(reduced)
    projections = projections - projections.mean(axis=0)
    seli = np.linalg.svd(projections, compute_uv=False).sum()
    ncc = posteriors[np.arange(target.n_samples), target.labels].mean()
    vc = np.log(
        sum(
            np.linalg.svd(posteriors[target.labels == c], compute_uv=False).sum()
            for c in range(target.n_classes)
        )
    )
    return np.array([seli, ncc, vc])


def ncti_from_components(components: np.ndarray) -> np.ndarray:
    """NCTI of every model in a pool [M] from their terms [M, 3]: min-max each term across the
    pool, then seli + ncc - vc. Pool-relative: adding a model changes the others' scores."""
    scaled = min_max_across_pool(components)
    return scaled[:, 0] + scaled[:, 1] - scaled[:, 2]


def knn_accuracy(target: Target) -> float:
    """Leave-one-out k-NN accuracy (k = 5, cosine similarity), the simple baseline of
    "k-NN as a Simple and Effective Estimator of Transferability"."""
    unit = target.features / np.linalg.norm(target.features, axis=1, keepdims=True).clip(min=1e-300)
    correct = 0
    k = min(KNN_NEIGHBOURS, target.n_samples - 1)
    for start in range(0, target.n_samples, KNN_CHUNK):
        rows = np.arange(start, min(start + KNN_CHUNK, target.n_samples))
        similarity = unit[rows] @ unit.T
        similarity[np.arange(len(rows)), rows] = -np.inf
        neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        # one vote per neighbour; summed similarity breaks ties
        weights = 1 + 1e-6 * np.take_along_axis(similarity, neighbours, axis=1)
        votes = np.einsum("nk,nkc->nc", weights, target.one_hot[neighbours])
        correct += int((votes.argmax(axis=1) == target.labels[rows]).sum())
    return correct / target.n_samples
