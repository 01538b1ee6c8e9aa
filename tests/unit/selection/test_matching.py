import pytest

from hubscout.data.store import World
from hubscout.selection.matching import (
    MATCH_THRESHOLD,
    ConceptMatcher,
    character_node,
    match_task,
    read_class_text,
)
from hubscout.selection.requirements import TaskSpec
from hubscout.text import ConceptTexts, text_embedder


@pytest.fixture(scope="module")
def graph(tiny_world):
    return ConceptTexts.from_nodes(World(tiny_world).nodes, text_embedder())


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


def test_facet_paraphrases_are_read_as_the_thing_and_its_facet():
    assert read_class_text("The colour of  grass") == ("colour", "grass")
    assert read_class_text("lemon-coloured") == ("colour", "lemon")
    assert read_class_text("shaped like a coin") == ("shape", "a coin")
    assert read_class_text("a circular shape") == ("shape", "circular")
    assert read_class_text("patterned like a zebra") == ("pattern", "a zebra")
    assert read_class_text("a ring-shaped object") == (None, "a ring-shaped object")
    assert read_class_text("zebra") == (None, "zebra")


def test_a_single_digit_or_capital_names_its_character():
    assert character_node("a printed 7") == "digit 7"
    assert character_node("the character A") == "letter A"
    assert character_node("a printed a") is None  # lower case: an article, not a letter
    assert character_node("A or B") is None


def test_people_s_names_match_the_concept_they_mean(graph):
    names = {
        "the colour of grass": "green",
        "lemon-coloured": "yellow",
        "shaped like a coin": "circle",
        "a circular shape": "circle",  # not the generic parent "shape"
        "patterned like a zebra": "striped",
        "a printed 7": "digit 7",
        "scarlet": "red",  # a synonym the graph carries
    }
    spec = TaskSpec(class_names=list(names))
    matches = {m.class_name: m for m in match_task(spec, graph, text_embedder())}
    assert {name: matches[name].node_ids[0] for name in names} == names


def test_a_bare_thing_or_an_animal_stays_not_covered(graph):
    spec = TaskSpec(class_names=["zebra", "a giraffe", "trumpet", "the colour of snow"])
    assert not [m.class_name for m in match_task(spec, graph, text_embedder()) if m.covered]


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
