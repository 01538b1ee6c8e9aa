"""The example images a user identifies models with, read and checked at the edge."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hubscout.data.datasets import read_image
from hubscout.errors import DatasetError

MIN_SIDE = 16


def read_examples(paths: Sequence[Path]) -> np.ndarray:
    """uint8 [k, S, S, 3] from image files: at least one, each readable, RGB-convertible,
    under the pixel limit, square and at least 16 px, all the same size."""
    if not paths:
        raise DatasetError("no example images given: pass one or more PNG/JPEG files")
    images = []
    for path in paths:
        if not path.is_file():
            raise DatasetError(f"example image {path} does not exist")
        image = read_image(path)
        height, width = image.shape[:2]
        if height != width or height < MIN_SIDE:
            raise DatasetError(
                f"{path} is {width}x{height}: examples must be square and at least "
                f"{MIN_SIDE}x{MIN_SIDE}; crop or resize it"
            )
        images.append(image)
    sizes = sorted({image.shape[0] for image in images})
    if len(sizes) > 1:
        raise DatasetError(f"example images have different sizes {sizes}: resize them to one")
    return np.stack(images)
