import pytest

from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.labeling.alignment import align_classes
from hubscout.text import text_embedder


@pytest.fixture(scope="module")
def graph(tiny_world):
    nodes = World(tiny_world).nodes
    return nodes["node_id"].to_list(), nodes["name"].to_list(), nodes["description"].to_list()


def test_classes_align_by_text_and_unrelated_ones_stay_unaligned(graph):
    mapping = align_classes(["crimson", "hexagon", "seven", "teapot"], *graph, text_embedder())
    assert mapping == {
        "crimson": "crimson",
        "hexagon": "hexagon",
        "seven": "digit 7",
        "teapot": None,
    }


def test_the_card_mapping_wins_and_needs_no_embedder(graph):
    mapping = align_classes(["c0", "c1"], *graph, None, explicit={"c0": "ring", "c1": "letter K"})
    assert mapping == {"c0": "ring", "c1": "letter K"}
    with pytest.raises(ConfigError, match="not in the concept graph"):
        align_classes(["c0"], *graph, None, explicit={"c0": "teapot"})
    with pytest.raises(ValueError, match="no text embedder"):
        align_classes(["c0", "c1"], *graph, None, explicit={"c0": "ring"})
