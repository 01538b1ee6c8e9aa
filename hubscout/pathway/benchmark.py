"""The pathway against the obvious ways to reuse a hub on one labeled task.

Every method sees the task's train and validation splits and is scored on its test split:
- best single model: the linear probe (C on validation, refit on train + val) of the model
  with the best validation accuracy;
- uniform ensemble: the mean of every model's probe probabilities;
- selection ensemble: the mean over the models text-only selection picks for the classes;
- LogME top-1: the probe of the model with the best LogME on train + val;
- pathway: Hub-Pathway with k models per input.
Cost is the number of hub models evaluated per input.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.pipeline import Pipeline

from hubscout.pathway.model import PathwayTraining, predict_with_features, train_pathway
from hubscout.transferability.ground_truth import Split, fit_linear_probe
from hubscout.transferability.logme import logme
from hubscout.transferability.target import Target

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TaskData:
    """One task's per-model features, labels and router input for each split."""

    features: Mapping[str, Mapping[str, np.ndarray]]  # model -> split -> [N, D]
    labels: Mapping[str, np.ndarray]  # split -> [N]
    router: Mapping[str, np.ndarray]  # split -> [N, R]

    @property
    def models(self) -> list[str]:
        """The hub models, in a fixed order."""
        return sorted(self.features)

    def split(self, split: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """(features per model in `models` order, labels, router input) of a split."""
        features = [self.features[m][split] for m in self.models]
        return features, self.labels[split], self.router[split]


@dataclass(frozen=True)
class Comparison:
    """Per method: test accuracy and models evaluated per input; the pathway itself."""

    table: pl.DataFrame  # method, accuracy, models_per_input, models
    pathway: PathwayTraining
    usage: dict[str, float]  # share of test inputs that run each model


def compare(data: TaskData, selected: Sequence[str], k: int = 2, seed: int = 0) -> Comparison:
    """Every method of the module docstring on one task."""
    models = data.models
    n_classes = int(max(labels.max() for labels in data.labels.values())) + 1
    test_labels = data.labels["test"]
    probes, validation = {}, {}
    for name in models:
        train, val = (Split(data.features[name][s], data.labels[s]) for s in ("train", "val"))
        probes[name], _, validation[name] = fit_linear_probe(train, val)
    test_probs = {m: _full(probes[m], data.features[m]["test"], n_classes) for m in models}

    def accuracy(probabilities: np.ndarray) -> float:
        return float(np.mean(probabilities.argmax(axis=1) == test_labels))

    best = max(models, key=lambda m: (validation[m], m))
    logme_scores = {
        m: logme(
            Target(
                np.concatenate([data.features[m]["train"], data.features[m]["val"]]),
                np.concatenate([data.labels["train"], data.labels["val"]]),
            )
        )
        for m in models
    }
    logme_pick = max(models, key=lambda m: (logme_scores[m], m))
    chosen = [m for m in models if m in set(selected)]
    pathway = train_pathway(data.split("train"), data.split("val"), n_classes, k, seed)
    test_features, _, test_router = data.split("test")
    pathway_probs, gates = predict_with_features(pathway.network, test_router, test_features)
    rows = [
        ("best_single", accuracy(test_probs[best]), 1.0, best),
        (
            "uniform_ensemble",
            accuracy(np.mean([test_probs[m] for m in models], axis=0)),
            float(len(models)),
            ",".join(models),
        ),
        (
            "selection_ensemble",
            accuracy(np.mean([test_probs[m] for m in chosen], axis=0)) if chosen else None,
            float(len(chosen)),
            ",".join(chosen),
        ),
        ("logme_top1", accuracy(test_probs[logme_pick]), 1.0, logme_pick),
        (f"pathway_k{k}", accuracy(pathway_probs), float(k), ",".join(models)),
    ]
    schema = {
        "method": pl.String,
        "accuracy": pl.Float64,
        "models_per_input": pl.Float64,
        "models": pl.String,
    }
    usage = (gates > 0).mean(axis=0)
    return Comparison(
        pl.DataFrame(rows, schema=schema, orient="row"),
        pathway,
        {m: float(u) for m, u in zip(models, usage, strict=True)},
    )


def _full(probe: Pipeline, features: np.ndarray, n_classes: int) -> np.ndarray:
    """A probe's probabilities over all n_classes (a class absent from its training data
    gets 0)."""
    probabilities = np.zeros((len(features), n_classes))
    probabilities[:, probe.classes_] = probe.predict_proba(features)
    return probabilities
