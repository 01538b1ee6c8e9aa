import dataclasses

import pytest

from hubscout.hub import EmptyHubError
from hubscout.labeling.store import card_of
from hubscout.selection.answer import Constraints, select_models
from hubscout.selection.requirements import RequirementError, TaskSpec
from hubscout.settings import Settings


def test_selection_answer_with_evidence(published_hub):
    hub, index = published_hub
    spec = TaskSpec(class_names=["crimson", "navy", "olive", "teapot"])
    answer = select_models(spec, index, k=2)
    selection = answer.selection
    assert sorted(selection.models) == ["vlm-colours", "vlm-dark"]
    assert selection.not_covered == ["teapot"]
    assert set(selection.per_class) == {"crimson", "navy", "olive"}
    assert all(len(picks) == 2 for picks in selection.per_class.values())
    assert {m.class_name: m.node_ids[0] for m in selection.matches if m.covered} == {
        "crimson": "crimson", "navy": "navy", "olive": "olive",
    }  # fmt: skip
    assert selection.label_versions == {
        name: hub.models[name].label_version for name in ("vlm-colours", "vlm-dark")
    }
    assert answer.hub_version == hub.version == 1
    document = answer.document()
    assert [row["model"] for row in document["ranking"]] == selection.models
    assert document["not_covered"] == ["teapot"] and document["hub_version"] == 1
    teapot = next(c for c in document["classes"] if c["class_name"] == "teapot")
    assert teapot == {"class_name": "teapot", "covered": False, "nodes": [], "top": []}


def test_constraints_apply_before_ranking(published_hub, labeled_data_dir):
    _, index = published_hub
    settings = Settings(data_dir=labeled_data_dir)
    spec = TaskSpec(class_names=["crimson", "navy"])
    classifiers = select_models(spec, index, constraints=Constraints(kind="classifier"))
    assert set(classifiers.selection.models) == {"clf-colours", "clf-patterns"}
    assert classifiers.selection.models[0] == "clf-colours"
    limit = card_of("starter:clf-patterns", settings).parameters
    assert index.models["clf-patterns"].parameters == limit  # the card reached the registry
    assert card_of("starter:clf-colours", settings).parameters > limit
    small = select_models(spec, index, constraints=Constraints(kind="classifier", max_params=limit))
    assert small.selection.models == ["clf-patterns"]
    assert small.selection.excluded == {
        "clf-colours": f"{card_of('starter:clf-colours', settings).parameters} parameters > {limit}"
    }
    for constraints in (Constraints(max_params=1000), Constraints(licenses=("GPL-3.0",))):
        with pytest.raises(RequirementError, match="relax them"):
            select_models(spec, index, constraints=constraints)


def test_a_hub_without_labeled_models_of_a_kind_says_so(published_hub):
    _, index = published_hub
    empty = dataclasses.replace(index, matrices={})
    with pytest.raises(EmptyHubError, match="has no labeled vlm"):
        select_models(TaskSpec(class_names=["crimson"]), empty)
