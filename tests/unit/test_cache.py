import os

import numpy as np
import pytest

from hubscout.cache import (
    ArrayCache,
    cache_key,
    read_json,
    read_npz,
    write_json_atomic,
    write_npz_atomic,
)


def test_put_then_get(tmp_path):
    cache = ArrayCache(tmp_path, "things")
    key = cache_key("model", "dataset")
    assert cache.get(key) is None
    cache.put(key, {"x": np.arange(5)})
    np.testing.assert_array_equal(cache.get(key)["x"], np.arange(5))
    assert cache.path(key).parent.name == key[:2]


def test_a_crash_during_the_write_leaves_no_entry_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "entry.npz"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_npz_atomic(path, {"x": np.ones(3)})
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_entry_reads_as_missing_and_is_removed(tmp_path):
    path = tmp_path / "entry.npz"
    write_npz_atomic(path, {"x": np.ones(1000)})
    path.write_bytes(path.read_bytes()[:100])
    assert read_npz(path) is None
    assert not path.exists()


def test_keys_depend_on_every_part():
    assert cache_key("a", "b") == cache_key("a", "b")
    assert cache_key("a", "b") != cache_key("a", "c")
    assert cache_key("ab", "c") != cache_key("a", "bc")


def test_json_entries_round_trip_and_a_broken_one_reads_as_missing(tmp_path):
    path = tmp_path / "rows" / "entry.json"
    assert read_json(path) is None
    write_json_atomic(path, [{"task": "swatches", "logme": -1.25, "sfda": None}])
    assert read_json(path) == [{"task": "swatches", "logme": -1.25, "sfda": None}]
    path.write_text('[{"task": "swa')
    assert read_json(path) is None and not path.exists()
