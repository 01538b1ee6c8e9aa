"""A content-addressed on-disk store of NumPy arrays (and JSON documents), written atomically.

Each entry is one .npz (or .json) file named by its key. Writes go to a temporary file in the same
folder, are flushed to disk and then renamed into place, so a crash mid-write leaves either
the old state or the complete entry, never a half-written one. Entries that fail to read
are treated as missing and removed.
"""

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

import numpy as np


def cache_key(*parts: str) -> str:
    """A stable key from the parts that determine an entry's content."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def source_digest(*modules: ModuleType) -> str:
    """A hash of the modules' source files: part of a key whose entry the code computes, so
    that a change to that code misses the cache instead of reading a stale entry."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` to `path` so that readers see all of it or nothing."""
    _write_atomic(path, lambda handle: np.savez(handle, **arrays))


def write_json_atomic(path: Path, document: object) -> None:
    """Write `document` as JSON to `path` so that readers see all of it or nothing."""
    _write_atomic(path, lambda handle: handle.write(json.dumps(document).encode()))


def read_json(path: Path) -> object | None:
    """A complete JSON entry, or None when it is missing or unreadable (then removed)."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        path.unlink(missing_ok=True)
        return None


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a complete entry, or None when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None


class ArrayCache:
    """Entries under `root/<namespace>/<key[:2]>/<key>.npz`."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.root = root / namespace

    def path(self, key: str) -> Path:
        """Where the entry `key` lives."""
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under `key`, or None."""
        return read_npz(self.path(key))

    def put(self, key: str, arrays: Mapping[str, np.ndarray]) -> Path:
        """Store `arrays` under `key` atomically and return the entry's path."""
        path = self.path(key)
        write_npz_atomic(path, arrays)
        return path
