import pytest

from hubscout.selection.requirements import RequirementError, TaskSpec, parse_task


def test_parse_task_splits_and_cleans():
    spec = parse_task("crimson,  navy ,olive  green")
    assert spec.class_names == ["crimson", "navy", "olive green"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "at least 1"), (" , ", "at least 1"), ("red, Red", "duplicate class names: red")],
)
def test_bad_tasks_are_clear_errors(text, message):
    with pytest.raises(RequirementError, match=message):
        parse_task(text)


def test_descriptions_join_the_class_text_and_must_name_classes():
    spec = TaskSpec(class_names=["ring"], descriptions={"ring": "a circle with a hole"})
    assert spec.class_texts() == ["ring, which is a circle with a hole"]
    with pytest.raises(ValueError, match="not listed: star"):
        TaskSpec(class_names=["ring"], descriptions={"star": "pointy"})
