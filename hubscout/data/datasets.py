"""Image datasets: uint8 arrays [N, H, W, 3] with optional labels, read from NPZ or folders.

An NPZ dataset holds `images` (uint8 [N, H, W, 3]) and optionally `labels` (int [N]) and
`class_names` (str [C]); it is read with allow_pickle=False. A folder dataset holds one
subfolder per class of PNG/JPEG files, all of the same size.

Readers take `max_bytes`, the most the decoded arrays may hold: it is checked from the .npy
headers and the image headers before anything is decoded, so a small file that claims a
huge array costs nothing. Images are decoded as PNG or JPEG only (no other Pillow plugin,
such as EPS through Ghostscript, ever sees user data).
"""

import hashlib
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from hubscout.errors import DatasetError

MAX_IMAGE_PIXELS = 16_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
IMAGE_FORMATS = ("PNG", "JPEG")
ACCEPTED_MODES = {"RGB", "RGBA", "L", "P"}
MAX_NPZ_ARRAYS = 16  # images, labels, class_names and a few more a user may have saved
RGB_BYTES = 3


@dataclass(frozen=True)
class ImageDataset:
    """Images with optional integer labels and class names; hashed by content."""

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise DatasetError(
                f"dataset {self.name!r}: images must be uint8 [N, H, W, 3], got "
                f"{self.images.dtype} {list(self.images.shape)}"
            )
        if len(self.images) == 0:
            raise DatasetError(f"dataset {self.name!r} is empty: add at least one image")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DatasetError(
                f"dataset {self.name!r} has {len(self.images)} images but "
                f"{len(self.labels)} labels: give one label per image"
            )
        digest = hashlib.sha256(f"{self.images.shape}".encode())
        digest.update(np.ascontiguousarray(self.images).data)  # hashed in place, no copy
        object.__setattr__(self, "content_hash", digest.hexdigest())

    def __len__(self) -> int:
        return len(self.images)


def load_image_dataset(path: Path, max_bytes: int | None = None) -> ImageDataset:
    """Read an NPZ file or a folder of class subfolders as an ImageDataset whose decoded
    arrays hold at most `max_bytes` (None: no limit)."""
    if path.is_dir():
        return _load_folder(path, max_bytes)
    if path.is_file() and path.suffix == ".npz":
        return _load_npz(path, max_bytes)
    raise DatasetError(
        f"dataset {path} not found or not supported: give an .npz file with an 'images' array "
        "or a folder with one subfolder of PNG/JPEG images per class"
    )


def npz_decoded_bytes(path: Path) -> int:
    """What the arrays of an .npz archive take once loaded, read from their .npy headers
    alone; a DatasetError for anything that is not an archive of plain .npy arrays."""
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"{path.name} is not an .npz archive (a zip of .npy arrays): save it with "
            "numpy.savez(file, images=..., labels=...)"
        )
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_NPZ_ARRAYS:
                raise DatasetError(
                    f"{path.name} holds {len(members)} arrays; keep images, labels and "
                    f"class_names (at most {MAX_NPZ_ARRAYS})"
                )
            for member in members:
                with archive.open(member) as array:
                    version = np.lib.format.read_magic(array)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(array)
                if dtype.hasobject:
                    raise DatasetError(
                        f"{path.name}: {member.filename} holds Python objects, which are never "
                        "unpickled here: store numbers and strings"
                    )
                total += math.prod(shape) * dtype.itemsize
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatasetError(f"cannot read {path.name} as a NumPy archive ({reason})") from error
    return total


def _check_budget(name: str, needed: int, max_bytes: int | None) -> None:
    if max_bytes is not None and needed > max_bytes:
        raise DatasetError(
            f"{name} decodes to {needed / 2**20:.1f} MiB, over the limit of "
            f"{max_bytes / 2**20:.1f} MiB: send fewer or smaller images"
        )


def _load_npz(path: Path, max_bytes: int | None) -> ImageDataset:
    _check_budget(path.name, npz_decoded_bytes(path), max_bytes)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive:
                raise DatasetError(f"{path} has no 'images' array (uint8 [N, H, W, 3])")
            images = archive["images"]
            labels = _integer_labels(path, archive["labels"]) if "labels" in archive else None
            names = (
                tuple(str(n) for n in archive["class_names"]) if "class_names" in archive else ()
            )
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"cannot read {path} as a NumPy archive ({error})") from error
    return ImageDataset(name=path.stem, images=images, labels=labels, class_names=names)


def _integer_labels(path: Path, labels: np.ndarray) -> np.ndarray:
    """The archive's labels as int64, refusing strings and floats (a float label is not a
    class index, and rounding it would silently relabel examples)."""
    if labels.dtype.kind not in "iu":
        raise DatasetError(
            f"{path}: 'labels' are {labels.dtype} but must be integer class indices 0..C-1; "
            "store the names once in 'class_names' and the indices in 'labels'"
        )
    return labels.astype(np.int64)


def _load_folder(path: Path, max_bytes: int | None) -> ImageDataset:
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir())
    files = [
        (label, file)
        for label, class_dir in enumerate(class_dirs)
        for file in sorted(class_dir.iterdir())
        if file.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        raise DatasetError(
            f"folder {path} holds no images: put PNG/JPEG files in one subfolder per class"
        )
    sizes = [image_size(file) for _, file in files]
    _check_budget(path.name, sum(w * h for w, h in sizes) * RGB_BYTES, max_bytes)
    if len(set(sizes)) > 1:
        raise DatasetError(
            f"images in {path} have different sizes {sorted(set(sizes))}: resize them to one size"
        )
    return ImageDataset(
        name=path.name,
        images=np.stack([read_image(file) for _, file in files]),
        labels=np.array([label for label, _ in files], dtype=np.int64),
        class_names=tuple(d.name for d in class_dirs),
    )


def image_size(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG file from its header, without decoding its pixels."""
    with _opened(path, max_pixels) as image:
        return image.size


def read_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read one PNG or JPEG file as uint8 [H, W, 3], refusing unreadable, exotic or huge
    images."""
    with _opened(path, max_pixels) as image:
        try:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
        except Exception as error:  # a damaged image can break a decoder in any way
            raise _unreadable(path, error) from error


def _opened(path: Path, max_pixels: int) -> Image.Image:
    """The image at `path` opened lazily (header read, pixels not yet decoded) and checked."""
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as error:
        raise DatasetError(
            f"{path.name} claims more pixels than Pillow will decode ({error}); the limit here "
            f"is {max_pixels / 1e6:.0f} megapixels: downscale it first"
        ) from error
    except Exception as error:  # Pillow raises SyntaxError, struct.error ... on bad headers
        raise _unreadable(path, error) from error
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise DatasetError(
            f"{path.name} is {width}x{height} ({width * height / 1e6:.1f} megapixels), over "
            f"the limit of {max_pixels / 1e6:.0f}: downscale it first"
        )
    if image.mode not in ACCEPTED_MODES:
        image.close()
        raise DatasetError(
            f"{path.name} has image mode {image.mode}: convert it to RGB (8 bits per channel)"
        )
    return image


def _unreadable(path: Path, error: Exception) -> DatasetError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DatasetError(f"cannot read {path.name} as a PNG or JPEG image ({reason})")
