import numpy as np
import pytest

from hubscout.errors import DatasetError
from hubscout.identification.rkme import (
    fit_rkme,
    gaussian_kernel,
    median_gamma,
    mixture,
    mmd2,
    rank_by_mmd,
    simplex_qp,
)


def cloud(centre, n, seed):
    return np.random.default_rng(seed).normal(centre, 0.3, (n, 4))


def test_the_qp_stays_on_the_simplex_and_finds_the_known_optimum():
    # w^T I w - 2 c^T w on the simplex: the projection of c onto it
    weights = simplex_qp(np.eye(3), np.array([0.9, 0.5, -1.0]))
    np.testing.assert_allclose(weights, [0.7, 0.3, 0.0], atol=1e-6)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_an_rkme_is_close_to_its_own_distribution_and_far_from_another():
    data = cloud(0.0, 400, 0)
    spec = fit_rkme(data, m=16, gamma=0.5)
    assert spec.points.shape == (16, 4) and spec.weights.sum() == pytest.approx(1.0)
    same, other = mmd2(spec, cloud(0.0, 200, 1)), mmd2(spec, cloud(1.5, 200, 2))
    assert same < 0.02 < other
    kernel = gaussian_kernel(data[:5], data[:5], 0.5)
    np.testing.assert_allclose(np.diag(kernel), 1.0)


def test_search_and_mixture_find_the_slices_the_samples_come_from():
    specs = {name: fit_rkme(cloud(c, 300, i), 12, 0.5) for i, (name, c) in enumerate(
        [("a", 0.0), ("b", 2.0), ("c", -2.0)])}  # fmt: skip
    assert rank_by_mmd(cloud(2.0, 30, 7), specs)[0][0] == "b"
    weights = mixture(np.vstack([cloud(0.0, 40, 8), cloud(-2.0, 40, 9)]), specs)
    assert weights["a"] + weights["c"] > 0.9
    assert abs(weights["a"] - weights["c"]) < 0.3


def test_too_few_samples_for_the_reduced_set_is_a_clear_error():
    with pytest.raises(DatasetError, match="at least 8 samples"):
        fit_rkme(cloud(0.0, 5, 0), m=8, gamma=1.0)


def test_the_median_heuristic_inverts_the_median_squared_distance():
    points = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # squared distances 4, 1, 5
    assert median_gamma(points) == pytest.approx(1 / 4)
