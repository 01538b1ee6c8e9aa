import numpy as np
import pytest
import torch

from hubscout.errors import DatasetError
from hubscout.models.base import check_image_batch, unit_pixels


def test_unit_pixels_puts_channels_first_and_scales_to_the_unit_interval():
    images = np.zeros((2, 1, 2, 3), dtype=np.uint8)
    images[1, 0, 1] = (255, 51, 0)  # the second image's right pixel
    pixels = unit_pixels(images)
    assert pixels.dtype == torch.float32 and pixels.shape == (2, 3, 1, 2)
    assert pixels[1, :, 0, 1].tolist() == pytest.approx([1.0, 0.2, 0.0])
    assert pixels.sum().item() == pytest.approx(1.2)  # every other pixel is black


def test_an_image_batch_must_be_uint8_with_three_channels_last():
    check_image_batch(np.zeros((1, 4, 4, 3), dtype=np.uint8))
    with pytest.raises(DatasetError, match="uint8"):
        check_image_batch(np.zeros((1, 4, 4, 3), dtype=np.float32))
    with pytest.raises(DatasetError, match=r"\[N, H, W, 3\], got \[1, 3, 4, 4\]"):
        check_image_batch(np.zeros((1, 3, 4, 4), dtype=np.uint8))
