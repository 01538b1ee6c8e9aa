"""Contact sheets: a grid of sample images per class, with the class names, as one picture."""

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

LABEL_WIDTH = 170


def contact_sheet(
    rows: Sequence[np.ndarray], row_names: Sequence[str], scale: int = 3
) -> Image.Image:
    """One row per class: `rows[i]` is uint8 [k, H, W, 3], named `row_names[i]`."""
    height, width = rows[0].shape[1:3]
    columns = max(len(r) for r in rows)
    cell_h, cell_w = height * scale, width * scale
    sheet = Image.new(
        "RGB", (LABEL_WIDTH + columns * (cell_w + 2), len(rows) * (cell_h + 2)), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for row, (images, name) in enumerate(zip(rows, row_names, strict=True)):
        top = row * (cell_h + 2)
        draw.text((4, top + cell_h // 2), name[:28], fill="black", anchor="lm")
        for column, image in enumerate(images):
            tile = Image.fromarray(image).resize((cell_w, cell_h), Image.Resampling.NEAREST)
            sheet.paste(tile, (LABEL_WIDTH + column * (cell_w + 2), top))
    return sheet


def per_class_samples(
    images: np.ndarray, labels: np.ndarray, n_classes: int, per_class: int = 8
) -> list[np.ndarray]:
    """The first `per_class` images of each class."""
    return [images[labels == label][:per_class] for label in range(n_classes)]
