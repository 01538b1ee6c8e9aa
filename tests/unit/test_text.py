import numpy as np
import pytest

from hubscout.errors import ConfigError
from hubscout.text import concept_similarity, text_embedder


@pytest.fixture(scope="session")
def minilm():
    return text_embedder()


def test_minilm_loads_offline_and_embeds_unit_vectors(minilm):
    vectors = minilm.embed(["crimson", "dark red", "teapot"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    np.testing.assert_allclose(minilm.embed(["crimson"]), vectors[:1], atol=1e-6)


def test_concept_similarity_uses_description_phrases(minilm):
    names = ["crimson", "teal", "diamond"]
    descriptions = [
        "crimson, a deep dark red like maroon",
        "teal, a dark blue-green",
        "a diamond or rhombus, a slanted four-sided shape",
    ]
    scores = concept_similarity(["maroon", "teapot", "crimson"], names, descriptions, minilm)
    assert scores.shape == (3, 3)
    assert scores[0].argmax() == 0 and scores[2, 0] > 0.8
    assert scores[1].max() < 0.55  # a lexical near-miss stays under the matching threshold


def test_unknown_embedder_and_non_vlm_tower(tiny_timm):
    with pytest.raises(ConfigError, match="unknown text embedder"):
        text_embedder("word2vec")
    _, path = tiny_timm
    with pytest.raises(ConfigError, match="no text tower"):
        text_embedder(f"vlm:timm:resnet10t@{path}")
