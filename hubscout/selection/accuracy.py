"""Predicting a selected model's accuracy on a task from its label scores (LOVM's L1 is
measured on it by the selection benchmark, which fits it on the tuning tasks only)."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AccuracyModel:
    """predicted accuracy = a + b * mean p(m, y) + c / n_classes, fitted by least squares."""

    coefficients: tuple[float, float, float]

    @classmethod
    def fit(
        cls, mean_p: np.ndarray, n_classes: np.ndarray, accuracy: np.ndarray
    ) -> "AccuracyModel":
        """Fit on (model, task) pairs of the tuning tasks only."""
        design = np.column_stack([np.ones_like(mean_p), mean_p, 1.0 / n_classes])
        solution, *_ = np.linalg.lstsq(design, accuracy, rcond=None)
        return cls(tuple(float(v) for v in solution))

    def predict(self, mean_p: np.ndarray, n_classes: int) -> np.ndarray:
        """Predicted accuracies, clipped to [0, 1]."""
        a, b, c = self.coefficients
        return np.clip(a + b * mean_p + c / n_classes, 0.0, 1.0)
