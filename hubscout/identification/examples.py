"""The example images a user identifies models with, read and checked at the edge."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hubscout.data.datasets import image_size, read_image
from hubscout.errors import DatasetError

MIN_SIDE = 16


def read_examples(paths: Sequence[Path], max_total_pixels: int | None = None) -> np.ndarray:
    """uint8 [k, S, S, 3] from image files: at least one, each readable, RGB-convertible,
    under the pixel limit, square and at least 16 px, all the same size, and together at
    most `max_total_pixels` (checked from their headers before any is decoded)."""
    if not paths:
        raise DatasetError("no example images given: pass one or more PNG/JPEG files")
    for path in paths:
        if not path.is_file():
            raise DatasetError(f"example image {path} does not exist")
    sizes = {path: image_size(path) for path in paths}
    for path, (width, height) in sizes.items():
        if height != width or height < MIN_SIDE:
            raise DatasetError(
                f"{path.name} is {width}x{height}: examples must be square and at least "
                f"{MIN_SIDE}x{MIN_SIDE}; crop or resize it"
            )
    total = sum(width * height for width, height in sizes.values())
    if max_total_pixels is not None and total > max_total_pixels:
        raise DatasetError(
            f"the {len(paths)} examples hold {total} pixels together, over the limit of "
            f"{max_total_pixels}: send fewer or smaller images"
        )
    sides = sorted({width for width, _ in sizes.values()})
    if len(sides) > 1:
        raise DatasetError(f"example images have different sizes {sides}: resize them to one")
    return np.stack([read_image(path) for path in paths])
