import numpy as np
import pytest

from hubscout.errors import ConfigError
from hubscout.text import CachedTextEmbedder, concept_similarity, text_embedder


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


class CountingEmbedder:
    """Embeds a text as a one-hot of its length, counting the texts it was asked for."""

    name = "counting"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def embed(self, texts):
        self.asked += list(texts)
        return np.eye(16)[[len(t) for t in texts]]


def test_a_cached_embedder_embeds_each_text_once_and_forgets_the_oldest():
    inner = CountingEmbedder()
    cached = CachedTextEmbedder(inner, size=3)
    np.testing.assert_array_equal(cached.embed(["ab", "abc", "ab"]), np.eye(16)[[2, 3, 2]])
    assert inner.asked == ["ab", "abc"]  # a repeated text is embedded once
    cached.embed(["abc", "abcd"])
    assert inner.asked == ["ab", "abc", "abcd"]
    cached.embed(["a"])  # a fourth text: "ab", the least recently used, is forgotten
    cached.embed(["ab"])
    assert inner.asked == ["ab", "abc", "abcd", "a", "ab"]
