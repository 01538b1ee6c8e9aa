from hubscout.data.graph import build_graph
from hubscout.data.tasks import TASKS, task_by_name


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
