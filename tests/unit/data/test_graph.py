from hubscout.data.graph import build_graph, descendant_leaves, edges_frame, leaves, nodes_frame


def test_graph_is_a_dag_of_at_least_60_nodes():
    nodes = build_graph()
    ids = [n.node_id for n in nodes]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)
    seen = set()
    for node in nodes:  # parents come before children: no cycles
        assert set(node.parents) <= seen, node.node_id
        seen.add(node.node_id)
    assert all(n.description for n in nodes)


def test_internal_nodes_group_leaves():
    below = descendant_leaves(build_graph())
    assert below["warm colour"] >= {"red", "orange", "yellow"}
    assert below["polygon"] == {"triangle", "square", "diamond", "pentagon", "hexagon"}
    assert below["character"] == below["digit"] | below["letter"]
    assert len(below["concept"]) == len(leaves(build_graph()))


def test_a_node_may_have_several_parents():
    crimson = next(n for n in build_graph() if n.node_id == "crimson")
    assert set(crimson.parents) == {"warm colour", "dark colour"}


def test_frames():
    nodes = build_graph()
    frame = nodes_frame(nodes)
    assert frame.columns == [
        "node_id", "name", "description", "facet", "is_leaf", "synonyms", "things",
    ]  # fmt: skip
    assert frame["is_leaf"].sum() == len(leaves(nodes))
    red = frame.filter(frame["node_id"] == "red").row(0, named=True)
    assert "scarlet" in red["synonyms"] and "a tomato" in red["things"]
    edges = edges_frame(nodes)
    assert len(edges) == sum(len(n.parents) for n in nodes)


def test_every_node_but_the_root_has_synonyms_and_every_colour_shape_and_pattern_things():
    for node in build_graph():
        assert node.synonyms or node.node_id == "concept", node.node_id
        is_leaf = node.constraints is not None
        if is_leaf and node.facet in ("colour", "shape", "pattern"):
            assert len(node.things) >= 2, node.node_id
    seven = {n.node_id: n for n in build_graph()}["digit 7"]
    assert seven.synonyms == ("number seven", "numeral 7")
