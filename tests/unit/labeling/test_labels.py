import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.labeling.labels import (
    LABEL_COLUMNS,
    ConceptProbes,
    classifier_label,
    finish_label,
    label_version,
    vlm_label,
)


def test_concept_probes_of_the_world(tiny_world):
    probes = ConceptProbes.from_world(World(tiny_world))
    assert len(probes.node_ids) >= 60 and len(probes.leaves) == 48
    assert probes.descendants["polygon"] == {"triangle", "square", "diamond", "pentagon", "hexagon"}
    assert len(probes.probe_rows["warm colour"]) == 60
    assert "crimson" in probes.groups["warm colour"]
    assert probes.node_texts["ring"].startswith("ring, which is a ring-shaped object")
    assert probes.graph_hash == ConceptProbes.from_world(World(tiny_world)).graph_hash


def _leaf_of_each_probe(probes):
    leaf = np.empty(len(probes.probe_images), dtype=object)
    for node in probes.leaves:
        leaf[probes.probe_rows[node]] = node
    return leaf


def test_a_perfect_vlm_gets_perfect_leaf_scores_and_a_profile(tiny_world):
    probes = ConceptProbes.from_world(World(tiny_world))
    texts = np.eye(len(probes.node_ids))
    leaf = _leaf_of_each_probe(probes)
    images = np.stack([texts[probes.node_ids.index(n)] for n in leaf])
    label = vlm_label(images, texts, probes)
    leaves = label.filter(pl.col("metric") == "acc_leaves")
    assert leaves.height == 48 and (leaves["value"] == 1.0).all()
    profile = label.filter(pl.col("metric").str.starts_with("score@"))
    assert profile.height == len(probes.node_ids) ** 2
    red = dict(profile.filter(pl.col("node_id") == "red").select("metric", "value").iter_rows())
    assert red["score@red"] == 100.0 and red["score@blue"] == 0.0


def test_classifier_label_covers_only_aligned_nodes(tiny_world):
    probes = ConceptProbes.from_world(World(tiny_world))
    leaf = _leaf_of_each_probe(probes)
    classes = ["red", "blue", "teapot"]
    probabilities = np.full((len(leaf), 3), 0.1)
    probabilities[leaf == "red", 0] = 0.8
    probabilities[leaf == "blue", 1] = 0.8
    mapping = {"red": "red", "blue": "blue", "teapot": None}
    label = classifier_label(probabilities, mapping, classes, probes)
    covered = set(label.filter(pl.col("metric") == "covered")["node_id"])
    assert {"red", "blue", "warm colour", "cool colour", "colour", "concept"} == covered
    assert (
        label.filter((pl.col("node_id") == "red") & (pl.col("metric") == "acc_leaves"))["value"][0]
        == 1.0
    )
    assert "triangle" not in set(label["node_id"])


def test_finished_label_schema_and_versions():
    rows = pl.DataFrame({"node_id": ["red"], "metric": ["acc_siblings"], "value": [0.5]})
    version = label_version("m" * 64, "g" * 64, "{}")
    table = finish_label(rows, "model", "m" * 64, "g" * 64, version)
    assert table.columns == LABEL_COLUMNS and table["label_version"][0] == version
    assert version != label_version("n" * 64, "g" * 64, "{}")
