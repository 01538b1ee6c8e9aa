"""Checking a source URI that a user registers, without loading the model.

The scheme must have a loader; a local file (`<scheme>:<arch>@<file>`) must exist under one
of the configured roots after resolving symlinks and `..` (so no request reads an arbitrary
file); the registry keeps the resolved path and the SHA-256 of the file's bytes, and every
later reader (the worker's job, the service's queries) checks both again before it loads the
model (`verify_source`), so a file re-pointed or rewritten after registration is refused.
`starter:<name>` resolves through the starter hub's manifest; `open_clip:<arch>/<tag>`
(pretrained weights that open_clip downloads) is hashed by its URI and registered only where
downloads are allowed. `pipeline:<folder>` must hold a pipeline's manifest under a root; it
is hashed by its manifest and weights, and names its members by their source URIs, which
must be registered. Registration also checks what it can without building the model: the
architecture is known and the checkpoint reads without pickle (its tensors memory-mapped,
not loaded); the labeling flow marks the model failed with the reason when it still does
not load.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hubscout.errors import (
    CheckpointMissingError,
    NetworkRequiredError,
    SourceError,
    UnknownArchitectureError,
)
from hubscout.models.cards import ModelCard, read_card
from hubscout.models.checkpoints import check_checkpoint
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


class SourceChangedError(SourceError):
    """A registered source whose file moved or changed since it was registered."""


@dataclass(frozen=True)
class CheckedSource:
    """What registering a source needs: its kind, content hash and card (when it has one)."""

    source: str
    kind: str
    content_hash: str
    card: ModelCard | None = None
    member_sources: tuple[str, ...] = ()  # a pipeline's members
    class_names: tuple[str, ...] = ()
    architecture: str = ""
    path: Path | None = None  # the resolved checkpoint of a local file


def check_source(source: str, roots: Sequence[Path], manifest: Path) -> CheckedSource:
    """The kind, content hash and resolved form of `source`, or a SourceError that says what
    to fix."""
    if any(not character.isprintable() for character in source):
        raise SourceError("the source has control characters (NUL, newline ...): remove them")
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
        name, slash, _ = architecture.partition("/")
        if not slash:
            raise SourceError(
                f"{source!r} names no weights: write open_clip:<arch>@<checkpoint file> "
                "(or open_clip:<arch>/<pretrained tag>, which downloads)"
            )
        digest = hashlib.sha256(source.encode()).hexdigest()
        return CheckedSource(source, "vlm", digest, architecture=name)
    path = allowed_path(location, roots)
    return CheckedSource(
        f"{scheme}:{architecture}@{path}",
        KIND_OF_SCHEME[scheme],
        file_hash(path),
        read_card(path),
        architecture=architecture,
        path=path,
    )


def verify_source(source: str, content_hash: str, roots: Sequence[Path], manifest: Path) -> None:
    """Check that a registered source still names the file it was registered with, under
    the roots, with the same bytes; a SourceChangedError that says what to do otherwise."""
    checked = check_source(source, roots, manifest)
    if checked.source != source:
        raise SourceChangedError(
            f"{source} now resolves to {checked.source}: a link on its path was re-pointed "
            "after registration; register the model again"
        )
    if checked.content_hash != content_hash:
        raise SourceChangedError(
            f"the weights of {source} changed since registration (hash {content_hash[:12]} "
            f"-> {checked.content_hash[:12]}): register the model again"
        )


def check_registrable(checked: CheckedSource, allow_downloads: bool) -> None:
    """What registration checks beyond the file itself: a known architecture, a checkpoint
    that reads without pickle, and no weights to download unless downloads are allowed."""
    scheme = checked.source.partition(":")[0]
    if scheme == "open_clip":
        from hubscout.models.open_clip_loader import architectures, pretrained_tags

        if checked.architecture not in architectures():
            raise UnknownArchitectureError(
                f"open_clip has no architecture {checked.architecture!r}: run `hubscout "
                "models` for the known ones, or add a JSON config"
            )
        if checked.path is None:
            if not allow_downloads:
                raise NetworkRequiredError(
                    f"{checked.source} downloads its weights when it is processed, and this "
                    "registry allows no downloads: register a local checkpoint "
                    "(open_clip:<arch>@<file>), or set HUBSCOUT_REGISTRY_ALLOW_DOWNLOADS=true "
                    "on a connected machine"
                )
            tag = checked.source.partition("/")[2]
            if tag not in pretrained_tags(checked.architecture):
                raise SourceError(
                    f"open_clip has no pretrained tag {tag!r} for {checked.architecture}"
                )
    if scheme == "timm":
        import timm

        if not timm.is_model(checked.architecture):
            raise UnknownArchitectureError(
                f"timm has no architecture {checked.architecture!r} (hub names such as "
                "hf-hub:... download; give a timm model name and a local weights file)"
            )
    if checked.path is not None:
        check_checkpoint(checked.path)


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
    allow_downloads: bool = False,
) -> bool:
    """The one path into the hub, for the service and the flows alike: check and hash the
    source, merge what its card says (license unless given, tags, parameter count, class
    names) and register it. True when the registry changed (an event then waits in the
    outbox)."""
    checked = check_source(source, roots, manifest)
    check_registrable(checked, allow_downloads)
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
