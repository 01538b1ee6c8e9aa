"""Requirement matching: each class name to its top-k concept nodes, with weights.

A class is compared with each node's full text ("<name>, which is <description>") and with
its short phrases (the name, each comma-separated part of the description and its synonyms);
the match score is the mean of the full-text cosine and the best phrase cosine. Phrases catch
synonyms ("a diamond or rhombus", "scarlet"); the full text keeps a lexical near-miss of one
phrase ("teapot" ~ "teal") from passing. A class named by a facet of a thing ("the colour of
grass", "lemon-coloured", "shaped like a coin") is read as that thing and compared only with
the nodes of that facet: with the everyday things that have each one's concept and with its
phrases. A bare thing ("zebra") is never compared with things, so an animal stays an animal.
A class whose best score is under its threshold is reported as not covered: it is never
silently matched.
"""

import dataclasses
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from hubscout.selection.requirements import TaskSpec
from hubscout.text import ConceptTexts, TextEmbedder

# Chosen together by coverage F1 on the tuning names, never the evaluation names
# (docs/decisions.md, Selection).
MATCH_THRESHOLD = 0.55
THING_THRESHOLD = 0.5
# A node is kept when it scores within this margin of the class's best node (1.0: every node
# above the threshold); tuned on the tuning tasks (docs/decisions.md, Selection).
MATCH_MARGIN = 1.0

# How people name a class by a facet of a thing, and the facet (a node's `facet`) it names.
FACET_PARAPHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (facet, re.compile(pattern))
    for facet, pattern in (
        ("colour", r"^(?:the |a )?colou?r of (?P<thing>.+)$"),
        ("colour", r"^colou?red like (?P<thing>.+)$"),
        ("colour", r"^(?P<thing>[\w' ]+?)[- ]colou?red$"),
        ("shape", r"^(?:in )?(?:the |a )?shape of (?P<thing>.+)$"),
        ("shape", r"^(?:shaped|a shape) like (?P<thing>.+)$"),
        ("shape", r"^(?P<thing>[\w' ]+?)[- ]shaped$"),
        ("pattern", r"^(?:the |a )?pattern of (?P<thing>.+)$"),
        ("pattern", r"^patterned like (?P<thing>.+)$"),
        ("pattern", r"^(?P<thing>[\w' ]+?)[- ]patterned$"),
        # "a circular shape", "a cool shade", "a checked pattern": the word before the
        # facet's own noun says which shape, colour or pattern
        ("shape", r"^(?:a |an |the )?(?P<thing>[\w'-]+(?: [\w'-]+)?) (?:shape|figure|outline)$"),
        ("colour", r"^(?:a |an |the )?(?P<thing>[\w'-]+(?: [\w'-]+)?) (?:colou?r|shade|hue|tone)$"),
        ("pattern", r"^(?:a |an |the )?(?P<thing>[\w'-]+(?: [\w'-]+)?) pattern$"),
    )
)
CHARACTER_NODE = {"digit": "digit {}", "letter": "letter {}"}


def character_node(text: str) -> str | None:
    """The node id a class name means by naming one character ("a printed 7" -> "digit 7",
    "the character A" -> "letter A"): its only token that is a digit or a capital letter."""
    single = [t for t in text.split() if len(t) == 1 and (t.isdigit() or t.isupper())]
    if len(single) != 1:
        return None
    return CHARACTER_NODE["digit" if single[0].isdigit() else "letter"].format(single[0])


def read_class_text(text: str) -> tuple[str | None, str]:
    """(facet, thing) of a class named by a facet of a thing ("the colour of grass" ->
    ("colour", "grass")), else (None, text)."""
    lowered = " ".join(text.lower().split())
    for facet, pattern in FACET_PARAPHRASES:
        found = pattern.match(lowered)
        if found:
            return facet, found["thing"]
    return None, text


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
    thing_threshold: float = THING_THRESHOLD,
) -> list[ClassMatch]:
    """Top-k nodes per class scoring at least `threshold` (`thing_threshold` for a class named
    by a facet of a thing) and within `margin` of the class's best node; weights are the kept
    scores normalised to sum to 1. `embedder` must be the one that embedded `concepts`."""
    matches = match_texts(
        spec.class_texts(), concepts, embedder, top_k, threshold, margin, thing_threshold
    )
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
    thing_threshold: float = THING_THRESHOLD,
) -> list[ClassMatch]:
    """`match_task` for class texts ("<name>" or "<name>, which is <description>"); each
    match is named by its text."""
    read = [read_class_text(text) for text in texts]
    vectors = embedder.embed([thing for _, thing in read])
    similarity = concepts.similarity(vectors)
    node_ids = concepts.node_ids
    matches = []
    for index, ((facet, _), text) in enumerate(zip(read, texts, strict=True)):
        character = character_node(text)
        if character in node_ids:  # a named character is read, not guessed
            matches.append(ClassMatch(text, [character], [1.0], [1.0]))
            continue
        row, floor = similarity[index], threshold
        if facet is not None:
            row, floor = (
                concepts.facet_similarity(vectors[index : index + 1], facet)[0],
                thing_threshold,
            )
        order = np.argsort(-row, kind="stable")[:top_k]
        kept = [j for j in order if row[j] >= floor and row[j] >= row[order[0]] - margin]
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
