import polars as pl

from hubscout.reuse.world_tasks import selected_for_classes
from hubscout.selection.matching import ClassMatch
from hubscout.selection.ranking import DEFAULT_METRIC, LabelMatrix, rank


def test_uncovered_classes_fall_back_to_the_top_ranked_model_and_none_covered_selects_none():
    table = pl.DataFrame(
        [("a", "crimson", DEFAULT_METRIC, 0.9, "v"), ("b", "navy", DEFAULT_METRIC, 0.8, "v")],
        schema=["model_id", "node_id", "metric", "value", "label_version"],
        orient="row",
    )
    matches = [
        ClassMatch("crimson", ["crimson"], [0.9], [1.0]),
        ClassMatch("navy", ["navy"], [0.9], [1.0]),
        ClassMatch("box", [], [], []),
    ]
    matrix = LabelMatrix.from_labels(table)
    selection = rank(matrix, matches, k=1)
    top = selection.models[0]
    expected = {"a": {0}, "b": {1}}
    expected[top].add(2)
    assert selected_for_classes(selection, ["crimson", "navy", "box"]) == expected
    lonely = rank(matrix, matches[2:], k=1)  # no class covered: nothing ranked, no vote
    assert lonely.models == [] and selected_for_classes(lonely, ["box"]) == {}
