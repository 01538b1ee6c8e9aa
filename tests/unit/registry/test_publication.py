import hashlib

import numpy as np
import polars as pl

from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from registry.publication import (
    arrays_bytes,
    generator_publication,
    generator_spec,
    label_publications,
    rkme_publication,
    rkme_spec,
    table_bytes,
    table_from_bytes,
)


def test_label_rows_split_per_model_and_round_trip_through_parquet():
    labels = pl.DataFrame(
        {
            "model_id": ["b", "a", "a"],
            "node_id": ["n1", "n2", "n1"],
            "metric": ["f1_siblings"] * 3,
            "value": [0.5, 0.25, 0.75],
            "label_version": ["vb", "va", "va"],
            "graph_hash": ["g", "g", "g"],
            "model_hash": ["hb", "ha", "ha"],
        }
    )
    a, b = label_publications(labels)
    assert (a.model_id, a.label_version, a.graph_hash, b.model_id) == ("a", "va", "g", "b")
    assert a.table["node_id"].to_list() == ["n1", "n2"] and a.table["value"].to_list() == [
        0.75,
        0.25,
    ]
    restored = table_from_bytes(table_bytes(a.table))
    assert restored.equals(a.table) and "model_hash" not in restored.columns


def test_specifications_round_trip_through_npz_without_pickle():
    rng = np.random.default_rng(0)
    spec = GeneratorSpecification(
        "gen-a",
        ("a red circle", "a blue square"),
        rng.normal(size=(2, 3, 4)).astype(np.float32),
        rng.normal(size=(2, 4)).astype(np.float32),
        "v1",
        {"generator": "h1", "encoder": "h2"},
        0.25,
    )
    published = generator_publication(spec, "vlm-a")
    import json

    restored = generator_spec(
        "gen-a", "v1", json.dumps(published.meta), arrays_bytes(published.arrays)
    )
    assert restored.prompts == spec.prompts and restored.depends_on == spec.depends_on
    assert restored.style_weight == 0.25
    # a spec published before style statistics was described by the VLM alone
    older = {key: value for key, value in published.meta.items() if key != "style_weight"}
    payload = arrays_bytes(published.arrays)
    assert generator_spec("gen-a", "v1", json.dumps(older), payload).style_weight == 0.0
    np.testing.assert_array_equal(restored.image_embeddings, spec.image_embeddings)
    np.testing.assert_array_equal(restored.prompt_embeddings, spec.prompt_embeddings)
    rkme = RKME(rng.normal(size=(3, 4)), np.array([0.2, 0.3, 0.5]), 0.125)
    stored = rkme_publication("clf-a", rkme, "vlm-a")
    back = rkme_spec(json.dumps(stored.meta), arrays_bytes(stored.arrays))
    np.testing.assert_array_equal(back.points, rkme.points)
    assert back.gamma == 0.125 and stored.spec_kind == "rkme" and stored.encoder == "vlm-a"
    # the version is the content's hash: the same spec from anywhere is the same version
    digest = hashlib.sha256(b"0.125" + rkme.points.tobytes() + rkme.weights.tobytes())
    assert stored.version == digest.hexdigest()[:16]
    assert rkme_publication("clf-b", RKME(rkme.points, rkme.weights, 0.125), "x").version == (
        stored.version
    )
    moved = RKME(rkme.points, np.array([0.3, 0.2, 0.5]), 0.125)
    assert rkme_publication("clf-a", moved, "vlm-a").version != stored.version
