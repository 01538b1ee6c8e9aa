"""Per-node metrics of a model label, computed from score matrices (pure, vectorised).

Model Label Learning ("Pre-Trained VLM Selection and Reuse for Downstream Tasks"): each model
is evaluated once on the probe images of every node of a concept graph. For a VLM the scores
are s[x, u] = 100 * cos(image embedding of x, text embedding of node u); for a classifier they
are its source-class probabilities, pooled per node. A node is judged against its siblings
(the other children of its parents) and, for leaves, against every leaf.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl


def sibling_groups(edges: pl.DataFrame) -> dict[str, list[str]]:
    """parent -> its children (each group of siblings), for parents with 2+ children."""
    groups: dict[str, list[str]] = {}
    for parent, child in edges.select("parent_id", "child_id").iter_rows():
        groups.setdefault(parent, []).append(child)
    return {parent: children for parent, children in groups.items() if len(children) > 1}


def group_metrics(
    scores: np.ndarray,
    probe_rows: Mapping[str, np.ndarray],
    members: Sequence[str],
    columns: Mapping[str, int],
) -> dict[str, dict[str, float]]:
    """Recall, precision, F1, informedness and confidence of each member when its group's
    probe images are classified among the group's members only (argmax over their score
    columns). Informedness is the member's recall minus its false-positive rate (the share of
    the other members' probes called the member): 0 for a model that answers the same member
    whatever it sees or answers at random, whatever its answer frequencies, 1 for a perfect
    one, negative below chance. Recall and F1 are not at chance for such models: a constant
    model has recall 1 and F1 2/(n+1) on the member it always answers.

    scores: float64 [P, U] (higher is more likely); probe_rows: node -> row indices of its
    probes; columns: node -> column of `scores`.
    """
    present = [m for m in members if m in columns and len(probe_rows.get(m, ())) > 0]
    if len(present) < 2:
        return {}
    rows = np.concatenate([probe_rows[m] for m in present])
    truth = np.concatenate([np.full(len(probe_rows[m]), i) for i, m in enumerate(present)])
    group_scores = scores[np.ix_(rows, [columns[m] for m in present])]
    predicted = group_scores.argmax(axis=1)
    shifted = group_scores - group_scores.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    result = {}
    for i, member in enumerate(present):
        own = truth == i
        true_positives = float(np.sum(own & (predicted == i)))
        recall = true_positives / own.sum()
        called = float(np.sum(predicted == i))
        precision = true_positives / called if called else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        false_positives = called - true_positives
        result[member] = {
            "recall": recall,
            "precision": precision,
            "f1": f1,
            "informedness": recall - false_positives / float(np.sum(~own)),
            "confidence": float(probabilities[own, i].mean()),
        }
    return result


def node_metrics(
    scores: np.ndarray,
    probe_rows: Mapping[str, np.ndarray],
    columns: Mapping[str, int],
    groups: Mapping[str, Sequence[str]],
    leaves: Sequence[str],
) -> pl.DataFrame:
    """Long table (node_id, metric, value) of every node a model can be judged on.

    acc_siblings / f1_siblings / informedness_siblings / confidence: recall, F1, informedness
    (recall minus false-positive rate, within -1 and 1, 0 at chance) and mean probability
    among siblings, averaged over the node's sibling groups; acc_leaves: recall among all
    leaves (leaves only).
    """
    collected: dict[str, list[dict[str, float]]] = {}
    for members in groups.values():
        for node, values in group_metrics(scores, probe_rows, members, columns).items():
            collected.setdefault(node, []).append(values)
    rows = []
    for node, values in collected.items():
        rows.append((node, "acc_siblings", float(np.mean([v["recall"] for v in values]))))
        rows.append((node, "f1_siblings", float(np.mean([v["f1"] for v in values]))))
        informedness = float(np.mean([v["informedness"] for v in values]))
        rows.append((node, "informedness_siblings", informedness))
        rows.append((node, "confidence", float(np.mean([v["confidence"] for v in values]))))
    for node, values in group_metrics(scores, probe_rows, leaves, columns).items():
        rows.append((node, "acc_leaves", values["recall"]))
    return pl.DataFrame(rows, schema=["node_id", "metric", "value"], orient="row")
