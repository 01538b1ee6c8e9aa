"""What identification compares images by: the reference VLM's embedding beside the image's
style statistics.

A generator's house style (background, palette, texture, stroke, rendering) is what tells it
from another fine-tune of the same world, and a VLM trained to name what an image shows learns
to ignore exactly that. The style vector of an image is the square roots of six normalised
histograms side by side, each block scaled to weigh the same:
  the joint colours (4 levels per channel) of a 4-pixel frame, and of the rest of the image;
  the luminance differences of horizontal neighbours at even and at odd columns, and of
  vertical neighbours at even and at odd rows (pixelation leaves one parity flat).
Images are first brought to STYLE_SIDE pixels, so that a neighbour difference means the
same whatever size a generator draws at or a user's examples come in. The cosine of two
style vectors is the mean Bhattacharyya coefficient of their histograms.
An image's descriptor is the unit vector [sqrt(1 - s) * vlm, sqrt(s) * style], whose cosine
with another is (1 - s) * cos_vlm + s * cos_style: s = 0 is the VLM alone, and s is chosen
with the reference encoder on the tuning prompts.
"""

import numpy as np
from PIL import Image

# The histograms' sizes below were set once, before any measurement, and never tuned; only
# the style weight is chosen on data (the tuning prompts)
STYLE_FORMAT = "style-v1"
STYLE_SIDE = 32  # pixels: the world's image size, which every starter generator draws at
COLOUR_LEVELS = 4  # per channel: 64 joint colour bins
FRAME = 4  # pixels: the border whose colours are counted apart from the centre's
# Bin edges of absolute luminance differences between neighbours (uint8 units): flat, noise,
# soft edges and hard edges each get bins of their own
DIFFERENCE_EDGES = np.array([1.0, 3.0, 6.0, 12.0, 24.0, 48.0, 96.0])
LUMINANCE = np.array([0.299, 0.587, 0.114])


def style_embedding(images: np.ndarray) -> np.ndarray:
    """Unit style vectors [N, F] (float64) of uint8 images [N, H, W, 3]."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"style statistics need RGB images [N, H, W, 3], got {images.shape}")
    if images.shape[1:3] != (STYLE_SIDE, STYLE_SIDE):
        images = np.stack([_resized(image) for image in images])
    levels = images.astype(np.int64) * COLOUR_LEVELS // 256
    colour = (levels[..., 0] * COLOUR_LEVELS + levels[..., 1]) * COLOUR_LEVELS + levels[..., 2]
    frame = np.ones(images.shape[1:3], dtype=bool)
    frame[FRAME:-FRAME, FRAME:-FRAME] = False
    luminance = images.astype(np.float64) @ LUMINANCE
    across = np.abs(np.diff(luminance, axis=2))  # [N, H, W - 1]
    down = np.abs(np.diff(luminance, axis=1))  # [N, H - 1, W]
    bins = len(DIFFERENCE_EDGES) + 1
    blocks = [
        _histograms(colour[:, frame], COLOUR_LEVELS**3),
        _histograms(colour[:, ~frame], COLOUR_LEVELS**3),
        *(
            _histograms(np.digitize(part, DIFFERENCE_EDGES), bins)
            for part in (across[:, :, 0::2], across[:, :, 1::2], down[:, 0::2], down[:, 1::2])
        ),
    ]
    return np.sqrt(np.concatenate(blocks, axis=1) / len(blocks))


def _resized(image: np.ndarray) -> np.ndarray:
    """One uint8 image at STYLE_SIDE x STYLE_SIDE, filtered as the world renders its own."""
    picture = Image.fromarray(np.ascontiguousarray(image))
    return np.asarray(picture.resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS))


def _histograms(codes: np.ndarray, bins: int) -> np.ndarray:
    """Each row's normalised histogram [N, bins] of integer codes [N, ...] in [0, bins)."""
    flat = codes.reshape(len(codes), -1)
    rows = np.repeat(np.arange(len(flat)), flat.shape[1])
    counts = np.bincount(rows * bins + flat.ravel(), minlength=len(flat) * bins)
    return counts.reshape(len(flat), bins) / flat.shape[1]


def describe(vlm: np.ndarray, style: np.ndarray, style_weight: float) -> np.ndarray:
    """Unit descriptors [N, D + F] (float32) from unit VLM embeddings [N, D] and unit style
    vectors [N, F]; at s = 0 the VLM embeddings themselves [N, D], as specs described before
    style statistics existed hold them."""
    if not 0.0 <= style_weight <= 1.0:
        raise ValueError(f"the style weight must lie in [0, 1], got {style_weight}")
    if style_weight == 0.0:
        return vlm.astype(np.float32)
    parts = (np.sqrt(1.0 - style_weight) * vlm, np.sqrt(style_weight) * style)
    return np.concatenate(parts, axis=-1).astype(np.float32)
