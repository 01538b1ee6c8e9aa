"""Image datasets: uint8 arrays [N, H, W, 3] with optional labels, read from NPZ or folders.

An NPZ dataset holds `images` (uint8 [N, H, W, 3]) and optionally `labels` (int [N]) and
`class_names` (str [C]); it is read with allow_pickle=False. A folder dataset holds one
subfolder per class of PNG/JPEG files, all of the same size.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from hubscout.errors import DatasetError

MAX_IMAGE_PIXELS = 16_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
ACCEPTED_MODES = {"RGB", "RGBA", "L", "P"}


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
        digest.update(np.ascontiguousarray(self.images).tobytes())
        object.__setattr__(self, "content_hash", digest.hexdigest())

    def __len__(self) -> int:
        return len(self.images)


def load_image_dataset(path: Path) -> ImageDataset:
    """Read an NPZ file or a folder of class subfolders as an ImageDataset."""
    if path.is_dir():
        return _load_folder(path)
    if path.is_file() and path.suffix == ".npz":
        return _load_npz(path)
    raise DatasetError(
        f"dataset {path} not found or not supported: give an .npz file with an 'images' array "
        "or a folder with one subfolder of PNG/JPEG images per class"
    )


def _load_npz(path: Path) -> ImageDataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive:
                raise DatasetError(f"{path} has no 'images' array (uint8 [N, H, W, 3])")
            images = archive["images"]
            labels = _integer_labels(path, archive["labels"]) if "labels" in archive else None
            names = (
                tuple(str(n) for n in archive["class_names"]) if "class_names" in archive else ()
            )
    except (OSError, ValueError) as error:
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


def _load_folder(path: Path) -> ImageDataset:
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir())
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, class_dir in enumerate(class_dirs):
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(read_image(file))
                labels.append(label)
    if not images:
        raise DatasetError(
            f"folder {path} holds no images: put PNG/JPEG files in one subfolder per class"
        )
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise DatasetError(
            f"images in {path} have different sizes {sorted(shapes)}: resize them to one size"
        )
    return ImageDataset(
        name=path.name,
        images=np.stack(images),
        labels=np.array(labels, dtype=np.int64),
        class_names=tuple(d.name for d in class_dirs),
    )


def read_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read one image file as uint8 [H, W, 3], refusing unreadable, exotic or huge images."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise DatasetError(
                    f"{path} is {width}x{height} ({width * height / 1e6:.1f} megapixels), over "
                    f"the limit of {max_pixels / 1e6:.0f}: downscale it first"
                )
            if image.mode not in ACCEPTED_MODES:
                raise DatasetError(
                    f"{path} has image mode {image.mode}: convert it to RGB (8 bits per channel)"
                )
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Image.DecompressionBombError as error:
        raise DatasetError(
            f"{path} claims more pixels than Pillow will decode ({error}); the limit here is "
            f"{max_pixels / 1e6:.0f} megapixels: downscale it first"
        ) from error
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetError(f"cannot read {path} as an image ({error})") from error
