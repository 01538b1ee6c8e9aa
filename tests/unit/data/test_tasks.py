from hubscout.data.graph import build_graph
from hubscout.data.names import names_of
from hubscout.data.tasks import MAX_DRAWN_CLASSES, TASKS, draw_tasks, task_by_name


def test_at_least_15_tasks_with_a_held_out_subset():
    assert len(TASKS) >= 15
    held_out = [t.name for t in TASKS if t.held_out]
    assert 3 <= len(held_out) < len(TASKS)
    assert len({t.name for t in TASKS}) == len(TASKS)


def test_classes_use_plain_language_and_map_to_real_nodes():
    node_ids = {n.node_id for n in build_graph()}
    names = {name for task in TASKS for name in task.class_names()}
    assert {"crimson", "navy", "a ring-shaped object", "polka dots", "maroon"} <= names
    for task in TASKS:
        assert len(task.classes) >= 2 and task.description and task.domain
        for task_class in task.classes:
            assert task_class.nodes and set(task_class.nodes) <= node_ids


def test_task_by_name():
    assert task_by_name("swatches").class_names() == ["crimson", "navy", "olive"]


def test_drawn_tasks_name_their_classes_from_their_split_only():
    tuning, evaluation = draw_tasks(40, "tuning"), draw_tasks(40, "evaluation")
    assert [t.name for t in tuning[:2]] == ["drawn-tuning-000", "drawn-tuning-001"]
    assert not any(t.held_out for t in tuning) and all(t.held_out for t in evaluation)
    for tasks, split in ((tuning, "tuning"), (evaluation, "evaluation")):
        for task in tasks:
            assert 2 <= len(task.classes) <= MAX_DRAWN_CLASSES
            for task_class in task.classes:
                assert task_class.name in names_of(task_class.nodes[0], split)
    assert draw_tasks(40, "tuning") == tuning  # seeded
    assert len({pool for t in tuning for pool in [t.description.rsplit("(", 1)[1]]}) >= 8


def test_a_drawn_category_class_shows_any_of_its_leaves():
    vowel_tasks = [
        t for t in draw_tasks(60, "tuning") if any(c.nodes == ("vowel",) for c in t.classes)
    ]
    (vowel,) = [c for c in vowel_tasks[0].classes if c.nodes == ("vowel",)]
    assert vowel.constraints == {"symbol": ("A", "E", "I", "O", "U")}
