from hubscout.data.graph import build_graph, leaves
from hubscout.data.names import EVALUATION_NAMES, TUNING_NAMES, names_of


def graph_phrases() -> set[str]:
    """Every phrase and thing of the concept graph, lower case."""
    phrases = set()
    for node in build_graph():
        phrases |= {node.name, *node.synonyms, *node.things}
        phrases |= {part.strip() for part in node.description.split(",")}
    return {phrase.lower() for phrase in phrases}


def test_the_two_sets_are_disjoint_and_name_only_nodes_of_the_graph():
    tuning, evaluation = {n.name for n in TUNING_NAMES}, {n.name for n in EVALUATION_NAMES}
    assert not tuning & evaluation
    node_ids = {node.node_id for node in build_graph()}
    assert {n.node_id for n in (*TUNING_NAMES, *EVALUATION_NAMES)} - node_ids == {None}
    assert sum(n.node_id is None for n in TUNING_NAMES) == 12
    assert sum(n.node_id is None for n in EVALUATION_NAMES) == 12


def test_every_leaf_has_names_in_both_sets():
    for leaf in leaves(build_graph()):
        assert names_of(leaf.node_id, "tuning") and names_of(leaf.node_id, "evaluation"), leaf


def test_no_related_evaluation_name_is_or_names_a_phrase_of_the_graph():
    phrases = graph_phrases()
    for name in EVALUATION_NAMES:
        if name.node_id is None:
            continue
        lowered = name.name.lower()
        assert lowered not in phrases, name
        for lead in ("the colour of ", "shaped like ", "patterned like ", "the shape of "):
            assert lowered.removeprefix(lead) not in phrases, name
