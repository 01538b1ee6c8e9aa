import numpy as np

from hubscout.selection.accuracy import AccuracyModel


def test_accuracy_model_recovers_a_linear_law():
    rng = np.random.default_rng(0)
    mean_p, classes = rng.uniform(0, 1, 50), rng.integers(2, 10, 50).astype(float)
    accuracy = 0.1 + 0.6 * mean_p + 0.5 / classes
    fitted = AccuracyModel.fit(mean_p, classes, accuracy)
    np.testing.assert_allclose(fitted.coefficients, (0.1, 0.6, 0.5), atol=1e-9)
    assert fitted.predict(np.array([2.0]), 2)[0] == 1.0  # clipped
