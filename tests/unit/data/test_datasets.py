import numpy as np
import pytest
from PIL import Image

from hubscout.data.datasets import ImageDataset, load_image_dataset, read_image
from hubscout.errors import DatasetError


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
    with pytest.raises(DatasetError, match="cannot read"):
        load_image_dataset(path)


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


def test_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not found or not supported"):
        load_image_dataset(tmp_path / "nothing.npz")
