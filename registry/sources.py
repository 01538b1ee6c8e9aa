"""Checking a source URI that a user registers, cheaply and without loading the model.

The scheme must have a loader; a local file (`<scheme>:<arch>@<file>`) must exist under one
of the configured roots after resolving symlinks and `..` (so no request reads an arbitrary
file); its content hash is the SHA-256 of its bytes. `starter:<name>` resolves through the
starter hub's manifest; `open_clip:<arch>/<tag>` (pretrained weights fetched by open_clip
on a connected machine) is hashed by its URI. `pipeline:<folder>` must hold a pipeline's
manifest under a root; it is hashed by its manifest and weights, and names its members by
their source URIs, which must be registered. The model itself is loaded later, by the
labeling flow, which marks it failed with the reason when it does not load.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hubscout.errors import CheckpointMissingError, SourceError
from hubscout.models.cards import ModelCard, read_card
from hubscout.models.sources import parse_source
from hubscout.models.starter_loader import read_manifest
from hubscout.reuse.pipeline import MANIFEST, pipeline_hash
from hubscout.reuse.pipeline import read_manifest as read_pipeline_manifest
from registry.store import RegistryStore

KIND_OF_SCHEME = {
    "open_clip": "vlm",
    "timm": "classifier",
    "cvae": "generator",
    "flow": "generator",
}
HASH_CHUNK = 16 * 1024 * 1024


class SourceOutsideRootsError(SourceError):
    """A local checkpoint outside every directory the registry may read."""


@dataclass(frozen=True)
class CheckedSource:
    """What registering a source needs: its kind, content hash and card (when it has one)."""

    source: str
    kind: str
    content_hash: str
    card: ModelCard | None = None
    member_sources: tuple[str, ...] = ()  # a pipeline's members
    class_names: tuple[str, ...] = ()


def check_source(source: str, roots: Sequence[Path], manifest: Path) -> CheckedSource:
    """The kind and content hash of `source`, or a SourceError that says what to fix."""
    scheme, rest = parse_source(source)
    if scheme == "starter":
        entries = {entry.name: entry for entry in read_manifest(manifest).models}
        if rest not in entries:
            raise SourceError(
                f"the starter hub has no model {rest!r}; it has: {', '.join(entries)}"
            )
        checkpoint = manifest.parent / entries[rest].checkpoint
        return CheckedSource(
            source, entries[rest].kind, file_hash(checkpoint), read_card(checkpoint)
        )
    if scheme == "pipeline":
        folder = allowed_path(str(Path(rest) / MANIFEST), roots).parent
        manifest = read_pipeline_manifest(folder)
        return CheckedSource(
            f"pipeline:{folder}",
            "pipeline",
            pipeline_hash(folder),
            member_sources=tuple(m.source for m in manifest.members),
            class_names=tuple(manifest.class_names),
        )
    architecture, at, location = rest.partition("@")
    if not architecture:
        raise SourceError(f"source {source!r} names no architecture: write {scheme}:<arch>@<file>")
    if not at:
        if scheme != "open_clip":
            raise SourceError(f"{scheme} sources need a weights file: {scheme}:<name>@<file>")
        return CheckedSource(source, "vlm", hashlib.sha256(source.encode()).hexdigest())
    path = allowed_path(location, roots)
    return CheckedSource(source, KIND_OF_SCHEME[scheme], file_hash(path), read_card(path))


def allowed_path(location: str, roots: Sequence[Path]) -> Path:
    """`location` resolved (symlinks, `..`) if it is an existing file under one of `roots`."""
    path = Path(location)
    if not path.is_absolute():
        raise SourceError(f"checkpoint path {location!r} is relative: give an absolute path")
    resolved = path.resolve()
    allowed = [root.resolve() for root in roots]
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise SourceOutsideRootsError(
            f"checkpoint {location} is outside the directories the registry may read "
            f"({', '.join(map(str, allowed)) or 'none configured'}): copy it under one of them "
            "or add its directory to HUBSCOUT_REGISTRY_SOURCE_ROOTS"
        )
    if not resolved.is_file():
        raise CheckpointMissingError(f"checkpoint {location} does not exist or is not a file")
    return resolved


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def register_source(
    store: RegistryStore,
    name: str,
    source: str,
    roots: Sequence[Path],
    manifest: Path,
    license: str = "unknown",
    tags: Sequence[str] = (),
) -> bool:
    """The one path into the hub, for the service and the flows alike: check and hash the
    source, merge what its card says (license unless given, tags, parameter count, class
    names) and register it. True when the registry changed (an event then waits in the
    outbox)."""
    checked = check_source(source, roots, manifest)
    card = checked.card
    members = _member_ids(store, checked.member_sources)
    return store.register(
        name,
        checked.source,
        checked.kind,
        checked.content_hash,
        card.license if card and license == "unknown" else license,
        sorted({*tags, *(card.tags if card else ())}),
        card.parameters if card else None,
        (card.source_classes or []) if card else checked.class_names,
        members,
    )


def _member_ids(store: RegistryStore, sources: Sequence[str]) -> list[str]:
    """The registered, unretired model of each member source of a pipeline."""
    by_source = {m["source"]: m["model_id"] for m in store.models() if m["status"] != "retired"}
    missing = [source for source in sources if source not in by_source]
    if missing:
        raise SourceError(
            f"the pipeline runs models the registry does not hold: {', '.join(missing)}; "
            "register them first"
        )
    return [by_source[source] for source in sources]
