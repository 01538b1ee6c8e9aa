"""What one publish carries to the registry, and how it is stored: label tables as Parquet,
specifications as NPZ (read back with allow_pickle=False) plus JSON, benchmark summaries and
tuned parameters as JSON. The flows build a Publication; `RegistryStore.publish` writes it
in one transaction.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from hubscout.hub import LABEL_COLUMNS
from hubscout.identification.rkme import RKME
from hubscout.identification.specs import GeneratorSpecification
from hubscout.tuning import Tuned

BENCHMARKS = ("selection", "transferability", "identification")
SPEC_KINDS = ("generator", "rkme")


@dataclass(frozen=True)
class LabelPublication:
    """A model's label version and its rows."""

    model_id: str
    label_version: str
    graph_hash: str
    table: pl.DataFrame  # at least LABEL_COLUMNS


@dataclass(frozen=True)
class SpecPublication:
    """A model's identification (generator) or RKME (classifier, VLM) specification."""

    model_id: str
    spec_kind: str
    version: str
    encoder: str  # the hub model whose image tower embedded it
    meta: dict
    arrays: dict[str, np.ndarray]


@dataclass(frozen=True)
class ModelRows:
    """A benchmark's rows about one model, measured by a flow for that model alone (they
    replace the model's rows in the benchmark's published document)."""

    model_id: str
    benchmark: str
    rows: tuple[dict, ...]


@dataclass(frozen=True)
class Publication:
    """Everything one publish makes current, with the reason kept in the hub's history."""

    reason: str
    labels: tuple[LabelPublication, ...] = ()
    specs: tuple[SpecPublication, ...] = ()
    benchmarks: dict[str, dict] = field(default_factory=dict)
    model_rows: tuple[ModelRows, ...] = ()
    tuned: tuple[Tuned, ...] = ()


def label_publications(labels: pl.DataFrame) -> tuple[LabelPublication, ...]:
    """One LabelPublication per model of a label table (rows of several models)."""
    publications = []
    for (model_id,), rows in sorted(labels.group_by("model_id"), key=lambda item: item[0]):
        publications.append(
            LabelPublication(
                str(model_id),
                rows["label_version"][0],
                rows["graph_hash"][0],
                rows.select(LABEL_COLUMNS).sort("node_id", "metric"),
            )
        )
    return tuple(publications)


def generator_publication(spec: GeneratorSpecification, encoder: str) -> SpecPublication:
    """A generator specification, ready to publish."""
    meta = {
        "prompts": list(spec.prompts),
        "depends_on": spec.depends_on,
        "style_weight": spec.style_weight,
    }
    arrays = {"images": spec.image_embeddings, "prompts": spec.prompt_embeddings}
    return SpecPublication(spec.generator, "generator", spec.version, encoder, meta, arrays)


def rkme_publication(model_id: str, spec: RKME, encoder: str) -> SpecPublication:
    """An RKME specification, ready to publish; its version is a hash of its content, so the
    same spec built by the pipeline or by a flow is the same version."""
    arrays = {"points": spec.points, "weights": spec.weights}
    digest = hashlib.sha256(repr(spec.gamma).encode())
    for array in arrays.values():
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    version = digest.hexdigest()[:16]
    return SpecPublication(model_id, "rkme", version, encoder, {"gamma": spec.gamma}, arrays)


def table_bytes(table: pl.DataFrame) -> bytes:
    """A label table as Parquet bytes."""
    buffer = io.BytesIO()
    table.select(LABEL_COLUMNS).write_parquet(buffer)
    return buffer.getvalue()


def table_from_bytes(payload: bytes) -> pl.DataFrame:
    """A label table stored by `table_bytes`."""
    return pl.read_parquet(io.BytesIO(payload))


def arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as NPZ bytes."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def generator_spec(
    model_id: str, version: str, meta: str, payload: bytes
) -> GeneratorSpecification:
    """A stored generator specification."""
    fields = json.loads(meta)
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        return GeneratorSpecification(
            model_id,
            tuple(fields["prompts"]),
            arrays["images"],
            arrays["prompts"],
            version,
            fields["depends_on"],
            fields.get("style_weight", 0.0),  # published before style statistics: the VLM alone
        )


def rkme_spec(meta: str, payload: bytes) -> RKME:
    """A stored RKME specification."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        return RKME(arrays["points"], arrays["weights"], float(json.loads(meta)["gamma"]))
