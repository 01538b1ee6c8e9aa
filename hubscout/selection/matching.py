"""Requirement matching: each class name to its top-k concept nodes, with weights.

A class is compared with each node's full text ("<name>, which is <description>") and with
its short phrases (the name and each comma-separated part of the description); the match score
is the mean of the full-text cosine and the best phrase cosine. Phrases catch synonyms that a
description names ("a diamond or rhombus"); the full text keeps a lexical near-miss of one
phrase ("teapot" ~ "teal") from passing. A class whose best score is under the threshold is
reported as not covered: it is never silently matched.

The threshold (0.55) was set on the tuning tasks' class names (all >= 0.62) against unrelated
words (teapot 0.53, banana 0.41, table 0.39), never on the held-out tasks.
"""

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from hubscout.selection.requirements import TaskSpec
from hubscout.text import ConceptTexts, TextEmbedder

MATCH_THRESHOLD = 0.55
# A node is kept when it scores within this margin of the class's best node. On the 12
# tuning tasks (selection benchmark grid, reports/selection.json "tuning"), with
# informedness_siblings labels and any alpha: 0.05 and 0.1 gave rel@1 0.9666, 0.2 and no
# margin (1.0) 0.9565; the first of the tie is kept.
MATCH_MARGIN = 0.05


@dataclass(frozen=True)
class ClassMatch:
    """The nodes one class was matched to."""

    class_name: str
    node_ids: list[str]
    similarities: list[float]
    weights: list[float]

    @property
    def covered(self) -> bool:
        """Whether any node matched well enough."""
        return bool(self.node_ids)


def match_task(
    spec: TaskSpec,
    concepts: ConceptTexts,
    embedder: TextEmbedder,
    top_k: int = 3,
    threshold: float = MATCH_THRESHOLD,
    margin: float = MATCH_MARGIN,
) -> list[ClassMatch]:
    """Top-k nodes per class scoring at least `threshold` and within `margin` of the class's
    best node; weights are the kept scores normalised to sum to 1. `embedder` must be the one
    that embedded `concepts`."""
    matches = match_texts(spec.class_texts(), concepts, embedder, top_k, threshold, margin)
    return [
        dataclasses.replace(match, class_name=name)
        for match, name in zip(matches, spec.class_names, strict=True)
    ]


def match_texts(
    texts: list[str],
    concepts: ConceptTexts,
    embedder: TextEmbedder,
    top_k: int = 3,
    threshold: float = MATCH_THRESHOLD,
    margin: float = MATCH_MARGIN,
) -> list[ClassMatch]:
    """`match_task` for class texts ("<name>" or "<name>, which is <description>"); each
    match is named by its text."""
    similarity = concepts.similarity(embedder.embed(texts))
    node_ids = concepts.node_ids
    matches = []
    for row, text in zip(similarity, texts, strict=True):
        order = np.argsort(-row, kind="stable")[:top_k]
        kept = [j for j in order if row[j] >= threshold and row[j] >= row[order[0]] - margin]
        values = np.array([row[j] for j in kept])
        matches.append(
            ClassMatch(
                text,
                [node_ids[j] for j in kept],
                [float(v) for v in values],
                [float(v) for v in values / values.sum()] if len(kept) else [],
            )
        )
    return matches


class ConceptMatcher:
    """`match_task` with the matches of class texts it has seen kept (least recently used
    forgotten first): a class's match depends only on its text and the concept graph, so a
    service answering the same class names again matches nothing anew."""

    def __init__(self, concepts: ConceptTexts, embedder: TextEmbedder, size: int = 100_000) -> None:
        self.concepts, self.embedder, self.size = concepts, embedder, size
        self._matches: OrderedDict[str, ClassMatch] = OrderedDict()
        self._lock = threading.Lock()

    def knows(self, spec: TaskSpec) -> bool:
        """Whether every class text of `spec` is matched already (matching it embeds
        nothing)."""
        with self._lock:
            return all(text in self._matches for text in spec.class_texts())

    def match(self, spec: TaskSpec) -> list[ClassMatch]:
        """The matches of every class of `spec`, as `match_task` gives them."""
        texts = spec.class_texts()
        with self._lock:
            known = {t: self._matches[t] for t in texts if t in self._matches}
            for text in known:
                self._matches.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = match_texts(missing, self.concepts, self.embedder)
            with self._lock:
                for text, match in zip(missing, fresh, strict=True):
                    known[text] = self._matches[text] = match
                while len(self._matches) > self.size:
                    self._matches.popitem(last=False)
        return [
            dataclasses.replace(known[text], class_name=name)
            for text, name in zip(texts, spec.class_names, strict=True)
        ]
