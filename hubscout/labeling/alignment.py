"""Aligning a classifier's source classes to concept nodes by text similarity.

Each class name is scored against every node with `hubscout.text.concept_similarity` (the
score that requirement matching uses); the best node is kept when it reaches the threshold,
else the class stays unaligned. An
explicit mapping (the model card's `class_to_node`) wins over the text match.
"""

from collections.abc import Mapping, Sequence

from hubscout.errors import ConfigError
from hubscout.text import TextEmbedder, concept_similarity

ALIGNMENT_THRESHOLD = 0.55


def align_classes(
    classes: Sequence[str],
    node_ids: Sequence[str],
    node_names: Sequence[str],
    node_descriptions: Sequence[str],
    embedder: TextEmbedder | None,
    explicit: Mapping[str, str] | None = None,
    threshold: float = ALIGNMENT_THRESHOLD,
) -> dict[str, str | None]:
    """class -> node id (or None when nothing is similar enough)."""
    explicit = dict(explicit or {})
    unknown = [n for n in explicit.values() if n not in node_ids]
    if unknown:
        raise ConfigError(
            f"the model card's class_to_node names nodes that are not in the concept graph: "
            f"{', '.join(sorted(unknown))}; map each class to a node id of the graph "
            "(nodes.parquet) or leave it out to align it by text"
        )
    todo = [c for c in classes if c not in explicit]
    result: dict[str, str | None] = {c: explicit[c] for c in classes if c in explicit}
    if todo:
        if embedder is None:
            raise ValueError(f"classes {todo} have no explicit node and no text embedder is given")
        similarity = concept_similarity(todo, list(node_names), list(node_descriptions), embedder)
        best = similarity.argmax(axis=1)
        for i, name in enumerate(todo):
            result[name] = node_ids[best[i]] if similarity[i, best[i]] >= threshold else None
    return result
