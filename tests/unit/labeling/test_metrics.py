import numpy as np
import polars as pl

from hubscout.labeling.metrics import group_metrics, node_metrics, sibling_groups


def test_sibling_groups_keep_parents_with_several_children():
    edges = pl.DataFrame({"parent_id": ["a", "a", "b", "c"], "child_id": ["x", "y", "z", "x"]})
    assert sibling_groups(edges) == {"a": ["x", "y"]}


def test_group_metrics_on_a_known_confusion():
    # 4 probes of x, 4 of y; columns x, y. Three x probes and one y probe score x highest.
    scores = np.array(
        [[2, 1], [2, 1], [2, 1], [1, 2], [2, 1], [1, 2], [1, 2], [1, 2]], dtype=np.float64
    )
    rows = {"x": np.arange(4), "y": np.arange(4, 8)}
    result = group_metrics(scores, rows, ["x", "y"], {"x": 0, "y": 1})
    assert result["x"]["recall"] == 0.75 and result["x"]["precision"] == 0.75
    assert result["y"]["recall"] == 0.75 and result["y"]["f1"] == 0.75
    assert result["x"]["informedness"] == 0.75 - 0.25  # recall minus 1 of 4 y probes called x
    softmax_top = np.exp(2) / (np.exp(2) + np.exp(1))
    assert np.isclose(result["x"]["confidence"], (3 * softmax_top + (1 - softmax_top)) / 4)


def test_node_metrics_average_groups_and_score_leaves():
    scores = np.eye(3)[[0, 0, 1, 1, 2, 2]] * 10.0
    rows = {"x": np.array([0, 1]), "y": np.array([2, 3]), "z": np.array([4, 5])}
    columns = {"x": 0, "y": 1, "z": 2}
    table = node_metrics(scores, rows, columns, {"p": ["x", "y"], "q": ["x", "z"]}, ["x", "y", "z"])
    values = {(n, m): v for n, m, v in table.iter_rows()}
    assert values[("x", "acc_siblings")] == 1.0 and values[("z", "acc_leaves")] == 1.0
    assert {m for _, m in values} == {
        "acc_siblings", "f1_siblings", "informedness_siblings", "confidence", "acc_leaves"
    }  # fmt: skip
    assert values[("x", "informedness_siblings")] == 1.0


def test_inputs_are_not_mutated():
    scores = np.random.default_rng(0).normal(size=(6, 2))
    before = scores.copy()
    group_metrics(scores, {"x": np.arange(3), "y": np.arange(3, 6)}, ["x", "y"], {"x": 0, "y": 1})
    np.testing.assert_array_equal(scores, before)


def test_a_constant_model_is_at_chance_on_informedness_but_not_on_recall_or_f1():
    # 3 siblings, 5 probes each; the model answers z for every image
    scores = np.tile([0.0, 0.0, 1.0], (15, 1))
    rows = {"x": np.arange(5), "y": np.arange(5, 10), "z": np.arange(10, 15)}
    result = group_metrics(scores, rows, ["x", "y", "z"], {"x": 0, "y": 1, "z": 2})
    assert result["z"]["recall"] == 1.0 and np.isclose(result["z"]["f1"], 2 / (3 + 1))
    assert [result[m]["informedness"] for m in "xyz"] == [0.0, 0.0, 0.0]


def test_a_random_model_is_near_chance_on_informedness_whatever_its_answer_frequencies():
    # random scores skewed so that it answers x half the time: recall on x is high
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(3000, 3)) + np.array([0.8, 0.0, 0.0])
    rows = {"x": np.arange(1000), "y": np.arange(1000, 2000), "z": np.arange(2000, 3000)}
    result = group_metrics(scores, rows, ["x", "y", "z"], {"x": 0, "y": 1, "z": 2})
    assert result["x"]["recall"] > 0.5
    assert max(abs(result[m]["informedness"]) for m in "xyz") < 0.05
