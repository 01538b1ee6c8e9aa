import pytest

from hubscout.hub import HubEntry
from registry.loaded import LoadedModels
from registry.sources import SourceChangedError, check_source
from tests.conftest import TINY_CLIP_ARCH


def _registered(name, path, root):
    checked = check_source(f"open_clip:{TINY_CLIP_ARCH}@{path}", [root], root)
    return HubEntry(name, checked.source, "vlm", checked.content_hash, "ready")


def test_models_are_kept_least_recently_used_first_and_checked_when_loaded(tmp_path, tiny_clip):
    paths = []
    for name in ("a", "b"):
        paths.append(tmp_path / f"{name}.pt")
        paths[-1].write_bytes(tiny_clip[1].read_bytes())
    a, b = (_registered(n, p, tmp_path) for n, p in zip("ab", paths, strict=True))
    loaded = LoadedModels(1, [tmp_path], tmp_path)
    first = loaded(a)
    assert loaded(a) is first and len(loaded) == 1  # reused, not loaded again
    loaded(b)
    assert len(loaded) == 1 and loaded(b) is not first
    paths[0].write_bytes(tiny_clip[1].read_bytes() + b"x")  # a changed after registration
    with pytest.raises(SourceChangedError, match="changed since registration"):
        loaded(a)  # evicted, so loaded again, and refused
