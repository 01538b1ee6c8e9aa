import pytest

from hubscout.labeling.store import card_of
from hubscout.selection.answer import Constraints, select_models
from hubscout.selection.requirements import RequirementError, TaskSpec
from hubscout.settings import Settings


@pytest.fixture
def settings(labeled_data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
    return Settings()


def test_selection_answer_with_evidence(settings):
    spec = TaskSpec(class_names=["crimson", "navy", "olive", "teapot"])
    answer = select_models(spec, settings, k=2)
    selection = answer.selection
    assert sorted(selection.models) == ["vlm-colours", "vlm-dark"]
    assert selection.not_covered == ["teapot"]
    assert set(selection.per_class) == {"crimson", "navy", "olive"}
    assert all(len(picks) == 2 for picks in selection.per_class.values())
    assert {m.class_name: m.node_ids[0] for m in selection.matches if m.covered} == {
        "crimson": "crimson", "navy": "navy", "olive": "olive",
    }  # fmt: skip
    assert set(selection.label_versions) == {"vlm-colours", "vlm-dark"}


def test_constraints_apply_before_ranking(settings):
    spec = TaskSpec(class_names=["crimson", "navy"])
    classifiers = select_models(spec, settings, constraints=Constraints(kind="classifier"))
    assert set(classifiers.selection.models) == {"clf-colours", "clf-patterns"}
    assert classifiers.selection.models[0] == "clf-colours"
    limit = card_of("starter:clf-patterns", settings).parameters
    assert card_of("starter:clf-colours", settings).parameters > limit
    small = select_models(
        spec, settings, constraints=Constraints(kind="classifier", max_params=limit)
    )
    assert small.selection.models == ["clf-patterns"]
    assert small.selection.excluded == {
        "clf-colours": f"{card_of('starter:clf-colours', settings).parameters} parameters > {limit}"
    }
    for constraints in (Constraints(max_params=1000), Constraints(licenses=("GPL-3.0",))):
        with pytest.raises(RequirementError, match="relax them"):
            select_models(spec, settings, constraints=constraints)
