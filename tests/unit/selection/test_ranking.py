import numpy as np
import polars as pl

from hubscout.selection.matching import ClassMatch
from hubscout.selection.ranking import DEFAULT_METRIC, LabelMatrix, class_scores, combine, rank


def labels(rows):
    """The label matrix of (model, node, value) rows of the default metric, plus one row of
    another metric that must not count."""
    table = pl.DataFrame(
        [(m, n, DEFAULT_METRIC, v, f"v-{m}") for m, n, v in rows]
        + [(rows[0][0], "navy", "confidence", 99.0, f"v-{rows[0][0]}")],
        schema=["model_id", "node_id", "metric", "value", "label_version"],
        orient="row",
    )
    return LabelMatrix.from_labels(table)


MATCHES = [
    ClassMatch("crimson", ["crimson"], [0.9], [1.0]),
    ClassMatch("navy", ["navy", "blue"], [0.9, 0.7], [0.5625, 0.4375]),
    ClassMatch("teapot", [], [], []),
]


def test_class_scores_propagate_node_values_through_matching_weights():
    table = labels(
        [("a", "crimson", 0.8), ("a", "navy", 0.4), ("a", "blue", 0.8), ("b", "crimson", 0.2)]
    )
    p = class_scores(table, MATCHES)
    np.testing.assert_allclose(p, [[0.8, 0.5625 * 0.4 + 0.4375 * 0.8], [0.2, 0.0]])


def test_combine_mixes_own_class_and_the_others():
    p = np.array([[1.0, 0.0, 0.5]])
    np.testing.assert_allclose(
        combine(p, alpha=0.7), [[0.7 + 0.3 * 0.25, 0.3 * 0.75, 0.35 + 0.3 * 0.5]]
    )
    np.testing.assert_allclose(combine(np.array([[0.4]])), [[0.4]])


def test_rank_carries_its_evidence_and_reports_uncovered_classes():
    table = labels(
        [("a", "crimson", 0.6), ("a", "navy", 0.9), ("b", "crimson", 0.9), ("b", "navy", 0.1)]
    )
    selection = rank(table, MATCHES, k=1)
    r = combine(class_scores(table, MATCHES))  # rows a, b; columns crimson, navy
    assert selection.per_class == {
        "crimson": [("b", r[1, 0])],
        "navy": [("a", r[0, 1])],
    }
    assert selection.models == ["a", "b"] and selection.overall["a"] == r[0].mean()
    assert selection.not_covered == ["teapot"]
    assert selection.label_versions == {"a": "v-a", "b": "v-b"}
    assert selection.class_scores.height == 4
    assert selection.class_scores.filter(pl.col("model") == "a")["p"].to_list() == [
        0.6,
        0.5625 * 0.9,
    ]


def test_excluded_models_are_not_ranked():
    table = labels([("a", "crimson", 0.8), ("b", "crimson", 0.9)])
    selection = rank(table, MATCHES[:1], excluded={"b": "too large"})
    assert selection.models == ["a"] and selection.excluded == {"b": "too large"}


def test_a_label_matrix_holds_one_metric_and_zero_where_a_model_has_no_row():
    matrix = labels([("a", "crimson", 0.8), ("b", "navy", 0.3)])
    assert matrix.models == ("a", "b") and matrix.node_index == {"crimson": 0, "navy": 1}
    np.testing.assert_array_equal(matrix.values, [[0.8, 0.0], [0.0, 0.3]])
    smaller = matrix.without({"a"})
    assert smaller.models == ("b",) and smaller.label_versions == {"b": "v-b"}
    np.testing.assert_array_equal(smaller.values, [[0.0, 0.3]])


def test_a_task_with_no_class_covered_ranks_nothing():
    table = labels([("a", "crimson", 0.6), ("b", "crimson", 0.9)])
    selection = rank(table, [ClassMatch("teapot", [], [], []), ClassMatch("sofa", [], [], [])])
    assert selection.models == [] and selection.overall == {} and selection.per_class == {}
    assert selection.not_covered == ["teapot", "sofa"] and selection.class_scores.is_empty()
