import io
import re

import pytest

from hubscout.errors import DatasetError
from registry.uploads import save_dataset, unpack_images
from tests import payloads


def test_the_images_of_a_zip_are_unpacked_and_the_rest_skipped(tmp_path):
    archive = payloads.zip_of(
        {
            "set/cat/0.png": payloads.png(),
            "set/cat/notes.txt": b"skipped",
            "__MACOSX/set/cat/._0.png": b"skipped too",
            "set/dog/0.png": payloads.png(colour=(0, 0, 200)),
        }
    )
    path = save_dataset(io.BytesIO(archive), "set.zip", tmp_path, max_bytes=10_000)
    assert path == tmp_path / "dataset" / "set"  # the one top folder is the dataset
    assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*.png")) == [
        "cat/0.png",
        "dog/0.png",
    ]
    assert not (path / "cat" / "notes.txt").exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"a/x.png": b"1", "a": b"2"}, "'a' collides with another entry's name"),
        ({"a": b"1", "a/x.png": b"2"}, "'a/x.png' collides with another entry's name"),
        ({"a/x.png": b"1", "a/x.png/y.png": b"2"}, "collides"),
        ({"c/" + "n" * 300 + ".png": b"1"}, "has a name part over 255 bytes"),
        ({"../x.png": b"1"}, "points outside it"),
        ({"/etc/x.png": b"1"}, "points outside it"),
        ({"a\\..\\x.png": b"1"}, "points outside it"),
    ],
)
def test_unsafe_or_colliding_entry_names_are_refused_before_anything_is_written(
    tmp_path, entries, message
):
    with pytest.raises(DatasetError, match=message):
        unpack_images(io.BytesIO(payloads.zip_of(entries)), tmp_path, max_bytes=10_000)
    assert list(tmp_path.iterdir()) == []


def test_a_member_is_capped_by_the_bytes_written_not_the_size_it_declares(tmp_path):
    bomb = payloads.zip_bomb_member(5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(DatasetError, match=re.escape("unpacks to more than 1.0 MiB")):
        unpack_images(io.BytesIO(bomb), tmp_path, max_bytes=2**20)
    written = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert written <= 2**20  # stopped at the cap, one chunk at a time


def test_what_is_not_a_zip_or_an_npz_gets_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not a readable zip file"):
        save_dataset(io.BytesIO(b"PK\x03\x04 nonsense"), "x.zip", tmp_path, 1000)
    with pytest.raises(DatasetError, match=re.escape("upload an .npz file or a .zip")):
        save_dataset(io.BytesIO(b""), "x.tar", tmp_path, 1000)
