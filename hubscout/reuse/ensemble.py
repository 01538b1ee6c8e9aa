"""The Model Label Learning reuse rule, and the head combination for expert classifiers.

Ensemble: each selected model m gives p_m(y | x) over the task's classes, weighted per sample
by w_m(x) = 1 / H(p_m(. | x)) (entropy in bits), and votes only for the classes it was
selected for:  y_hat(x) = argmax_y sum over m in F_y of w_m(x) * p_m(y | x).
"""

from collections.abc import Mapping

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def entropy_weights(probabilities: np.ndarray) -> np.ndarray:
    """1 / entropy (bits) of each row; confident predictions weigh more."""
    p = probabilities.clip(1e-12, 1.0)
    entropy = -(p * np.log2(p)).sum(axis=1)
    return 1.0 / entropy.clip(min=1e-6)


def ensemble_scores(
    probabilities: Mapping[str, np.ndarray], selected_for: Mapping[str, set[int]]
) -> np.ndarray:
    """Summed weighted votes [N, C]; model m only adds to the classes in selected_for[m]."""
    first = next(iter(probabilities.values()))
    scores = np.zeros(first.shape, dtype=np.float64)
    for model, p in probabilities.items():
        classes = sorted(selected_for.get(model, set()))
        if classes:
            scores[:, classes] += entropy_weights(p)[:, None] * p[:, classes]
    return scores


def ensemble_predict(
    probabilities: Mapping[str, np.ndarray], selected_for: Mapping[str, set[int]]
) -> np.ndarray:
    """The ensemble's class index for each sample."""
    return ensemble_scores(probabilities, selected_for).argmax(axis=1)


def combine_heads(
    head_scores: Mapping[str, Mapping[int, float]], n_classes: int, budget: int
) -> dict[str, set[int]]:
    """Pick at most `budget` classifiers whose heads together cover the task's classes
    (in the spirit of CHCO): greedily add the model that most raises the sum over classes of
    the best label score among the chosen models covering it; each chosen model keeps the
    classes where it is that best. head_scores[m][y]: label score of m's heads for class y.
    """
    chosen: list[str] = []

    def value(models: list[str]) -> float:
        return sum(
            max((head_scores[m].get(y, 0.0) for m in models), default=0.0) for y in range(n_classes)
        )

    while len(chosen) < budget:
        candidates = [m for m in head_scores if m not in chosen]
        if not candidates:
            break
        gains = {m: value([*chosen, m]) - value(chosen) for m in candidates}
        best = max(sorted(gains), key=lambda m: gains[m])
        if gains[best] <= 0:
            break
        chosen.append(best)
    assignment: dict[str, set[int]] = {m: set() for m in chosen}
    for y in range(n_classes):
        scored = [(head_scores[m].get(y, 0.0), m) for m in chosen if y in head_scores[m]]
        if scored:
            assignment[max(scored)[1]].add(y)
    return {m: classes for m, classes in assignment.items() if classes}


def head_class_scores(
    head_probabilities: np.ndarray,
    head_nodes: list[str | None],
    class_nodes: list[Mapping[str, float]],
) -> np.ndarray:
    """A classifier's scores for the task's classes [N, C]: for class y, the probability of
    the heads aligned to y's concept nodes, each node weighted by its matching weight
    (class_nodes[y]: node -> weight, the nodes below a matched node carrying its weight).
    Classes no head covers score 0."""
    scores = np.zeros((head_probabilities.shape[0], len(class_nodes)), dtype=np.float64)
    for y, weights in enumerate(class_nodes):
        for h, node in enumerate(head_nodes):
            if node is not None and node in weights:
                scores[:, y] += weights[node] * head_probabilities[:, h]
    return scores


def heads_with_fallback_predict(
    head_scores: Mapping[str, np.ndarray],
    assignment: Mapping[str, set[int]],
    fallback: np.ndarray | None,
    n_classes: int,
) -> np.ndarray:
    """Predictions of the combined heads: each chosen classifier votes for its assigned
    classes with weight 1/entropy of its (renormalised) class scores; the fallback VLM's
    probabilities [N, C] vote for the classes no classifier was assigned."""
    covered = set().union(*assignment.values()) if assignment else set()
    first = next(iter(head_scores.values())) if head_scores else fallback
    votes = np.zeros((first.shape[0], n_classes), dtype=np.float64)
    for model, classes in assignment.items():
        scores = head_scores[model]
        mass = scores.sum(axis=1, keepdims=True).clip(min=1e-12)
        normalised = scores / mass
        columns = sorted(classes)
        votes[:, columns] += entropy_weights(normalised)[:, None] * normalised[:, columns]
    uncovered = sorted(set(range(n_classes)) - covered)
    if uncovered and fallback is not None:
        votes[:, uncovered] += entropy_weights(fallback)[:, None] * fallback[:, uncovered]
    return votes.argmax(axis=1)
