import hashlib

import pytest

from hubscout.errors import CheckpointMissingError, SourceError, UnknownSchemeError
from registry.sources import SourceOutsideRootsError, allowed_path, check_source, file_hash


def test_a_local_file_under_a_root_is_hashed_by_its_bytes(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"abc" * 1000)
    checked = check_source(f"timm:resnet10t@{weights}", [tmp_path], tmp_path / "manifest.json")
    assert checked.kind == "classifier"
    assert checked.content_hash == hashlib.sha256(b"abc" * 1000).hexdigest() == file_hash(weights)


def test_a_pretrained_tag_is_hashed_by_its_uri_and_other_schemes_need_a_file(tmp_path):
    uri = "open_clip:ViT-B-32/laion2b_s34b_b79k"
    checked = check_source(uri, [tmp_path], tmp_path / "manifest.json")
    assert (checked.kind, checked.content_hash) == ("vlm", hashlib.sha256(uri.encode()).hexdigest())
    with pytest.raises(SourceError, match="timm sources need a weights file"):
        check_source("timm:resnet50", [tmp_path], tmp_path / "manifest.json")
    with pytest.raises(UnknownSchemeError):
        check_source("hf:bert", [tmp_path], tmp_path / "manifest.json")


def test_starter_models_resolve_through_the_manifest(starter_data_dir):
    manifest = starter_data_dir / "hub" / "manifest.json"
    checked = check_source("starter:vlm-colours", [], manifest)
    assert checked.kind == "vlm" and len(checked.content_hash) == 64
    with pytest.raises(SourceError, match="no model 'nope'; it has: vlm-"):
        check_source("starter:nope", [], manifest)


def test_paths_must_be_absolute_existing_and_inside_a_root(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside.pt"
    root.mkdir()
    outside.write_bytes(b"x")
    (root / "link.pt").symlink_to(outside)
    with pytest.raises(SourceError, match="is relative"):
        allowed_path("root/x.pt", [root])
    for location in (outside, root / ".." / "outside.pt", root / "link.pt"):
        with pytest.raises(SourceOutsideRootsError, match="outside the directories"):
            allowed_path(str(location), [root])
    with pytest.raises(CheckpointMissingError):
        allowed_path(str(root / "none.pt"), [root])
