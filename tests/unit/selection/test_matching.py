import pytest

from hubscout.data.store import World
from hubscout.selection.matching import MATCH_THRESHOLD, ConceptMatcher, match_task
from hubscout.selection.requirements import TaskSpec
from hubscout.text import ConceptTexts, text_embedder


@pytest.fixture(scope="module")
def graph(tiny_world):
    nodes = World(tiny_world).nodes
    return ConceptTexts.embed(
        nodes["node_id"].to_list(),
        nodes["name"].to_list(),
        nodes["description"].to_list(),
        text_embedder(),
    )


def test_classes_match_their_concepts_with_weights(graph):
    spec = TaskSpec(class_names=["crimson", "navy blue", "polka dots", "seven", "teapot"])
    matches = {m.class_name: m for m in match_task(spec, graph, text_embedder())}
    assert matches["crimson"].node_ids[0] == "crimson"
    assert matches["navy blue"].node_ids[0] == "navy"
    assert matches["polka dots"].node_ids[0] == "dotted"
    assert matches["seven"].node_ids[0] == "digit 7"
    for name in ("crimson", "navy blue", "polka dots", "seven"):
        match = matches[name]
        assert match.covered and abs(sum(match.weights) - 1) < 1e-9
        assert min(match.similarities) >= MATCH_THRESHOLD and len(match.node_ids) <= 3


def test_a_class_with_no_concept_is_reported_not_covered(graph):
    (match,) = match_task(TaskSpec(class_names=["teapot"]), graph, text_embedder())
    assert not match.covered and match.node_ids == [] and match.weights == []


class CountingEmbedder:
    """MiniLM, counting the texts it is asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.inner, self.asked = text_embedder(), []

    def embed(self, texts):
        self.asked += list(texts)
        return self.inner.embed(texts)


def test_a_matcher_matches_each_class_text_once_and_as_match_task_does(graph):
    counting = CountingEmbedder()
    matcher = ConceptMatcher(graph, counting, size=2)
    spec = TaskSpec(class_names=["crimson", "navy blue"], descriptions={"crimson": "a red"})
    assert not matcher.knows(spec)
    first = matcher.match(spec)
    assert matcher.knows(spec)
    assert not matcher.knows(TaskSpec(class_names=["navy blue", "seven"]))
    assert not matcher.knows(TaskSpec(class_names=["crimson"]))  # its text had a description
    assert first == match_task(spec, graph, text_embedder())
    assert counting.asked == ["crimson, which is a red", "navy blue"]
    again = matcher.match(TaskSpec(class_names=["navy blue", "seven"]))
    assert counting.asked[2:] == ["seven"]  # navy blue was remembered
    assert again[0] == first[1]
    matcher.match(TaskSpec(class_names=["crimson"], descriptions={"crimson": "a red"}))
    assert counting.asked[3:] == ["crimson, which is a red"]  # size 2: the oldest was forgotten
