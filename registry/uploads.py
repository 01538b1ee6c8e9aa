"""Uploaded files written to a request's temporary folder within fixed bounds, streamed in
chunks so that no upload is held whole in memory: example images for /identify, a labeled
dataset (.npz, or a zip of class folders) for /rank. Every refusal is a DatasetError that
says what to send instead."""

import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from hubscout.data.datasets import IMAGE_SUFFIXES
from hubscout.errors import DatasetError

CHUNK_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 20_000
MAX_NAME_BYTES = 255  # a path component's limit on every common file system
MAX_ENTRY_NAME_CHARACTERS = 1024


def save_upload(upload: BinaryIO, path: Path) -> Path:
    """Copy an upload to `path` in chunks (its size is bounded by the body limit)."""
    with path.open("wb") as sink:
        shutil.copyfileobj(upload, sink, CHUNK_BYTES)
    return path


def save_dataset(upload: BinaryIO, filename: str, folder: Path, max_bytes: int) -> Path:
    """An uploaded .npz as a file, or an uploaded zip of class folders unpacked under
    `folder`; the path to read the dataset from."""
    name = filename.lower()
    if name.endswith(".npz"):
        return save_upload(upload, folder / "dataset.npz")
    if not name.endswith(".zip"):
        raise DatasetError("upload an .npz file or a .zip of class folders")
    root = folder / "dataset"
    root.mkdir()
    unpack_images(upload, root, max_bytes)
    folders = [p for p in root.iterdir() if p.is_dir()]
    return folders[0] if len(folders) == 1 and not any(folders[0].glob("*.*")) else root


def unpack_images(upload: BinaryIO, root: Path, max_bytes: int) -> int:
    """Unpack the PNG/JPEG entries of a zip under `root` (other entries are skipped),
    counting the bytes actually written, not the sizes the zip declares; the number of
    images. Names are checked first: no absolute path, no '..', no NUL, no component over
    255 bytes, no entry that is both a file and a folder."""
    written, images = 0, 0
    try:
        with zipfile.ZipFile(upload) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_ENTRIES:
                raise DatasetError(
                    f"the zip holds {len(members)} files, over {MAX_ZIP_ENTRIES}: send fewer"
                )
            targets = _entry_targets(members, root)
            for member, target in zip(members, targets, strict=True):
                if target is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("xb") as sink:
                    while chunk := source.read(CHUNK_BYTES):
                        written += len(chunk)
                        if written > max_bytes:
                            raise DatasetError(
                                f"the zip unpacks to more than {max_bytes / 2**20:.1f} MiB: "
                                "send fewer or smaller images"
                            )
                        sink.write(chunk)
                images += 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise DatasetError(f"the upload is not a readable zip file ({error})") from error
    except (RuntimeError, NotImplementedError) as error:  # encrypted, unknown compression
        raise DatasetError(f"the zip cannot be unpacked here ({error})") from error
    except OSError as error:
        raise DatasetError(f"the zip's entries cannot be unpacked as files ({error})") from error
    return images


def _entry_targets(members: list[zipfile.ZipInfo], root: Path) -> list[Path | None]:
    """Where each entry goes (None: not an image, skipped), or a DatasetError naming the
    first entry whose name is unsafe or collides with another's."""
    targets: list[Path | None] = []
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for member in members:
        name = member.filename
        relative = PurePosixPath(name)
        shown = name[:80]
        if (
            "\x00" in name
            or len(name) > MAX_ENTRY_NAME_CHARACTERS
            or relative.is_absolute()
            or ".." in relative.parts
            or "\\" in name
        ):
            raise DatasetError(f"the zip entry {shown!r} points outside it or has a bad name")
        if any(len(part.encode()) > MAX_NAME_BYTES for part in relative.parts):
            raise DatasetError(f"the zip entry {shown!r} has a name part over 255 bytes")
        parents = set(relative.parents) - {PurePosixPath(".")}
        if relative in files or relative in folders or parents & files:
            raise DatasetError(f"the zip entry {shown!r} collides with another entry's name")
        files.add(relative)
        folders |= parents
        image = relative.suffix.lower() in IMAGE_SUFFIXES and not relative.name.startswith(".")
        targets.append(root.joinpath(*relative.parts) if image else None)
    return targets
