"""Model labels: how a model does on every node of the concept graph, computed once.

A label is a long Polars table (model_id, model_hash, graph_hash, node_id, metric, value,
label_version). For a VLM it holds the concept-level confusion profile (metric
`score@<node>`: the mean of 100 * cos(probe image, node text) over the node's probes) and the
per-node metrics of `hubscout.labeling.metrics`; for a classifier the metrics of its heads,
aligned to nodes.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from hubscout.data.store import World
from hubscout.labeling.metrics import node_metrics, sibling_groups

LABEL_FORMAT = "mll-v2"  # v2: informedness_siblings
LABEL_COLUMNS = [
    "model_id",
    "model_hash",
    "graph_hash",
    "node_id",
    "metric",
    "value",
    "label_version",
]
DEFAULT_NODE_TEMPLATE = "{name}, which is {description}"
# The node columns a label depends on (and its graph hash covers); synonyms and things are
# read by matching only, so a richer lexicon keeps every label version.
LABELED_NODE_COLUMNS = ["node_id", "name", "description", "facet", "is_leaf"]


@dataclass(frozen=True)
class ConceptProbes:
    """The graph and its probe images, in the form labeling needs."""

    node_ids: list[str]
    node_texts: dict[str, str]
    leaves: list[str]
    groups: dict[str, list[str]]
    descendants: dict[str, set[str]]
    probe_images: np.ndarray
    probe_rows: dict[str, np.ndarray]
    graph_hash: str

    @classmethod
    def from_world(cls, world: World, template: str = DEFAULT_NODE_TEMPLATE) -> "ConceptProbes":
        """Read the graph and probes of a built world."""
        nodes = world.nodes
        texts = {
            node_id: template.format(name=name, description=description)
            for node_id, name, description in nodes.select(
                "node_id", "name", "description"
            ).iter_rows()
        }
        rows = {
            node_id: np.sort(group["image_index"].to_numpy())
            for (node_id,), group in world.probe_index.group_by("node_id")
        }
        direct = world.probe_index.filter(pl.col("direct")).select("image_index", "node_id")
        leaf_of_image = dict(direct.iter_rows())
        descendants = {
            node_id: {leaf_of_image[i] for i in indices.tolist()}
            for node_id, indices in rows.items()
        }
        digest = hashlib.sha256(template.encode())
        digest.update(nodes.select(LABELED_NODE_COLUMNS).write_csv().encode())
        digest.update(world.edges.write_csv().encode())
        digest.update(world.probe_index.write_csv().encode())
        digest.update(np.ascontiguousarray(world.probe_images).tobytes())
        return cls(
            node_ids=nodes["node_id"].to_list(),
            node_texts=texts,
            leaves=nodes.filter(pl.col("is_leaf"))["node_id"].to_list(),
            groups=sibling_groups(world.edges),
            descendants=descendants,
            probe_images=world.probe_images,
            probe_rows=rows,
            graph_hash=digest.hexdigest(),
        )


def vlm_label(
    image_features: np.ndarray, text_features: np.ndarray, probes: ConceptProbes
) -> pl.DataFrame:
    """(node_id, metric, value) of a VLM from its probe-image and node-text embeddings.

    image_features: [P, D] for every probe image; text_features: [U, D] in `probes.node_ids`
    order. Both are normalised here (float64).
    """
    images = image_features.astype(np.float64)
    texts = text_features.astype(np.float64)
    images /= np.linalg.norm(images, axis=1, keepdims=True).clip(min=1e-12)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True).clip(min=1e-12)
    scores = 100.0 * images @ texts.T
    columns = {node_id: i for i, node_id in enumerate(probes.node_ids)}
    metrics = node_metrics(scores, probes.probe_rows, columns, probes.groups, probes.leaves)
    profile_rows = []
    for node_id, rows in probes.probe_rows.items():
        means = scores[rows].mean(axis=0)
        profile_rows += [(node_id, f"score@{u}", float(means[j])) for u, j in columns.items()]
    profile = pl.DataFrame(profile_rows, schema=metrics.schema, orient="row")
    return pl.concat([metrics, profile])


def classifier_label(
    probabilities: np.ndarray,
    class_to_node: Mapping[str, str | None],
    classes: Sequence[str],
    probes: ConceptProbes,
) -> pl.DataFrame:
    """(node_id, metric, value) of a classifier from its source-class probabilities [P, C].

    A node is covered when some source class is aligned to it or to a node below it; its score
    on an image is the summed probability of those classes. Uncovered nodes get no rows.
    """
    pooled = {}
    for node_id in probes.node_ids:
        below = probes.descendants.get(node_id, set()) | {node_id}
        heads = [i for i, c in enumerate(classes) if class_to_node.get(c) in below]
        if heads:
            pooled[node_id] = probabilities[:, heads].sum(axis=1)
    if not pooled:
        return pl.DataFrame(schema={"node_id": pl.String, "metric": pl.String, "value": pl.Float64})
    covered = list(pooled)
    scores = np.log(np.stack([pooled[n] for n in covered], axis=1).astype(np.float64) + 1e-12)
    columns = {node_id: i for i, node_id in enumerate(covered)}
    metrics = node_metrics(scores, probes.probe_rows, columns, probes.groups, probes.leaves)
    coverage = [(node_id, "covered", 1.0) for node_id in covered]
    return pl.concat([metrics, pl.DataFrame(coverage, schema=metrics.schema, orient="row")])


def label_version(model_hash: str, graph_hash: str, config: str) -> str:
    """Identifies one label: the model, the graph and probes, and how it was computed."""
    return hashlib.sha256(
        f"{LABEL_FORMAT}|{model_hash}|{graph_hash}|{config}".encode()
    ).hexdigest()[:16]


def finish_label(
    rows: pl.DataFrame, model_id: str, model_hash: str, graph_hash: str, version: str
) -> pl.DataFrame:
    """The label table in its stored form."""
    return rows.with_columns(
        pl.lit(model_id).alias("model_id"),
        pl.lit(model_hash).alias("model_hash"),
        pl.lit(graph_hash).alias("graph_hash"),
        pl.lit(version).alias("label_version"),
    ).select(LABEL_COLUMNS)
