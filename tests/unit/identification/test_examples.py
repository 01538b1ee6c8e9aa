import numpy as np
import pytest
from PIL import Image

from hubscout.errors import DatasetError
from hubscout.identification.examples import read_examples


def save(path, mode="RGB", size=(32, 32)):
    Image.new(mode, size).save(path)
    return path


def test_square_images_of_one_size_are_read_as_one_batch(tmp_path):
    paths = [save(tmp_path / f"{i}.png") for i in range(3)]
    assert read_examples(paths).shape == (3, 32, 32, 3)
    assert read_examples([save(tmp_path / "gray.png", "L")]).dtype == np.uint8


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: [], "no example images given"),
        (lambda d: [d / "missing.png"], "does not exist"),
        (lambda d: [save(d / "wide.png", size=(40, 32))], "must be square"),
        (lambda d: [save(d / "tiny.png", size=(8, 8))], "at least 16x16"),
        (lambda d: [save(d / "a.png"), save(d / "b.png", size=(64, 64))], "different sizes"),
        (lambda d: [save(d / "cmyk.jpg", "CMYK")], "image mode CMYK"),
        (lambda d: [d / "bad.png"], "cannot read"),
        (lambda d: [save(d / "huge.png", "L", (7100, 7100))], "50.4 megapixels"),
    ],
)
def test_bad_examples_give_a_clear_error(tmp_path, make, message):
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(DatasetError, match=message):
        read_examples(make(tmp_path))


def test_the_examples_share_one_pixel_budget_checked_before_decoding(tmp_path):
    paths = [save(tmp_path / f"{i}.png", size=(64, 64)) for i in range(4)]
    assert read_examples(paths, max_total_pixels=4 * 64 * 64).shape == (4, 64, 64, 3)
    with pytest.raises(
        DatasetError, match=r"the 4 examples hold 16384 pixels together, over the limit of 16383"
    ):
        read_examples(paths, max_total_pixels=4 * 64 * 64 - 1)
