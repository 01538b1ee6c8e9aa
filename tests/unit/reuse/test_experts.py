import pytest

from hubscout.reuse.experts import reuse_experts
from hubscout.settings import Settings


@pytest.fixture
def settings(labeled_data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
    return Settings()


def test_the_pattern_expert_answers_the_patterns_task(settings):
    result = reuse_experts("patterns", settings, budget=2)
    assert result.assignment == {"clf-patterns": ["plain", "stripes", "polka dots", "checkerboard"]}
    assert result.fallback_classes == [] and result.accuracy > 0.5


def test_uncovered_classes_go_to_the_vlm_fallback(settings):
    result = reuse_experts("shape-synonyms", settings, budget=2)
    assert result.assignment == {}  # the tiny hub has no shape classifier
    assert result.fallback in {"vlm-colours", "vlm-dark"}
    assert result.fallback_classes == ["disc", "box", "rhombus", "a ring-shaped object"]
    assert result.accuracy == result.fallback_accuracy
