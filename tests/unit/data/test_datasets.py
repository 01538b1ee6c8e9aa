import re

import numpy as np
import pytest
from PIL import Image

from hubscout.data.datasets import (
    ImageDataset,
    image_size,
    load_image_dataset,
    npz_decoded_bytes,
    read_image,
)
from hubscout.errors import DatasetError
from tests import payloads


def test_npz_dataset_round_trip(tmp_path, random_images):
    path = tmp_path / "shapes.npz"
    labels = np.arange(20) % 4
    np.savez(path, images=random_images, labels=labels, class_names=np.array(list("abcd")))
    dataset = load_image_dataset(path)
    assert dataset.name == "shapes"
    np.testing.assert_array_equal(dataset.images, random_images)
    np.testing.assert_array_equal(dataset.labels, labels)
    assert dataset.class_names == ("a", "b", "c", "d")
    assert len(dataset) == 20


def test_content_hash_follows_the_pixels(random_images):
    first = ImageDataset("a", random_images)
    assert first.content_hash == ImageDataset("b", random_images.copy()).content_hash
    changed = random_images.copy()
    changed[0, 0, 0, 0] ^= 1
    assert first.content_hash != ImageDataset("a", changed).content_hash


def test_folder_dataset(tmp_path, random_images):
    for label, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(random_images[label * 3 + i]).save(tmp_path / name / f"{i}.png")
    dataset = load_image_dataset(tmp_path)
    assert dataset.class_names == ("cat", "dog")
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_array_equal(dataset.images[3], random_images[3])


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, images=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetError, match=re.escape("images.npy holds Python objects")):
        load_image_dataset(path)


def test_an_npz_is_sized_from_its_headers_before_any_array_is_read(tmp_path, random_images):
    path = tmp_path / "shapes.npz"
    np.savez(path, images=random_images, labels=np.arange(20, dtype=np.int64))
    assert npz_decoded_bytes(path) == 20 * 32 * 32 * 3 + 20 * 8  # uint8 images, int64 labels
    assert len(load_image_dataset(path, max_bytes=20 * 32 * 32 * 3 + 160)) == 20
    with pytest.raises(DatasetError, match=r"decodes to 0.1 MiB, over the limit of 0.0 MiB"):
        load_image_dataset(path, max_bytes=20_000)
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(payloads.npz_header_bomb())
    assert bomb.stat().st_size < 1000 and npz_decoded_bytes(bomb) == 300_000 * 1000 * 1000
    with pytest.raises(
        DatasetError, match=r"bomb.npz decodes to 286102.3 MiB, over the limit of 1024.0 MiB"
    ):
        load_image_dataset(bomb, max_bytes=2**30)
    npy = tmp_path / "plain.npz"
    npy.write_bytes(payloads.plain_npy())
    with pytest.raises(DatasetError, match=re.escape("plain.npz is not an .npz archive")):
        load_image_dataset(npy)


def test_a_folder_is_sized_from_its_image_headers(tmp_path, random_images):
    for label in range(2):
        (tmp_path / f"c{label}").mkdir()
        Image.fromarray(random_images[label]).save(tmp_path / f"c{label}" / "0.png")
    assert len(load_image_dataset(tmp_path, max_bytes=2 * 32 * 32 * 3)) == 2
    with pytest.raises(DatasetError, match="over the limit"):
        load_image_dataset(tmp_path, max_bytes=2 * 32 * 32 * 3 - 1)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((0, 8, 8, 3), np.uint8), "empty"),
        (np.zeros((2, 8, 8), np.uint8), "uint8"),
        (np.zeros((2, 8, 8, 3), np.float32), "uint8"),
    ],
)
def test_bad_arrays(images, message):
    with pytest.raises(DatasetError, match=message):
        ImageDataset("bad", images)


def test_labels_must_match_images(random_images):
    with pytest.raises(DatasetError, match="one label per image"):
        ImageDataset("bad", random_images, labels=np.zeros(3, np.int64))


def test_unreadable_huge_and_exotic_images(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(DatasetError, match="cannot read"):
        read_image(tmp_path / "text.png")
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(DatasetError, match="megapixels"):
        read_image(tmp_path / "big.png", max_pixels=5_000)
    Image.new("I;16", (8, 8)).save(tmp_path / "deep.png")
    with pytest.raises(DatasetError, match="image mode"):
        read_image(tmp_path / "deep.png")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (payloads.eps, "cannot read x.img as a PNG or JPEG image"),
        (payloads.broken_png, r"cannot read x.img as a PNG or JPEG image \(broken data stream"),
        (payloads.png_with_bad_chunk, "cannot read x.img as a PNG or JPEG image"),
    ],
)
def test_only_sound_png_and_jpeg_files_are_decoded(tmp_path, make, message):
    path = tmp_path / "x.img"
    path.write_bytes(make())
    with pytest.raises(DatasetError, match=message):
        read_image(path)


def test_an_image_is_sized_from_its_header(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(payloads.png(4000))
    assert image_size(path) == (4000, 4000)
    with pytest.raises(
        DatasetError, match=re.escape("4000x4000 (16.0 megapixels), over the limit of 1")
    ):
        image_size(path, max_pixels=1_000_000)


def test_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not found or not supported"):
        load_image_dataset(tmp_path / "nothing.npz")
