import pytest

from hubscout.data.store import World
from hubscout.reuse.experts import reuse_experts
from hubscout.settings import Settings


@pytest.fixture
def reuse(labeled_data_dir, published_hub, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))  # starter: sources resolve
    settings = Settings()
    world = World(settings.layout.world)

    def run(task, budget):
        return reuse_experts(task, world, published_hub[1], settings, budget=budget)

    return run


def test_the_pattern_expert_answers_the_patterns_task(reuse):
    result = reuse("patterns", 2)
    assert result.assignment == {"clf-patterns": ["plain", "stripes", "polka dots", "checkerboard"]}
    assert result.fallback_classes == [] and result.accuracy > 0.5


def test_uncovered_classes_go_to_the_vlm_fallback(reuse):
    result = reuse("shape-synonyms", 2)
    assert result.assignment == {}  # the tiny hub has no shape classifier
    assert result.fallback in {"vlm-colours", "vlm-dark"}
    assert result.fallback_classes == ["disc", "box", "rhombus", "a ring-shaped object"]
    assert result.accuracy == result.fallback_accuracy
