import hashlib
import json

import pytest

from hubscout.errors import CheckpointMissingError, SourceError, UnknownSchemeError
from registry.sources import (
    SourceOutsideRootsError,
    allowed_path,
    check_source,
    file_hash,
    register_source,
)
from registry.store import RegistryStore


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


def _pipeline_folder(folder, members):
    folder.mkdir()
    manifest = {
        "format": "hubscout-pipeline-v1",
        "task": "digits",
        "class_names": ["zero", "one"],
        "k": 1,
        "members": [
            {"name": name, "source": f"starter:{name}", "content_hash": "h", "feature_dim": 4}
            for name in members
        ],
    }
    (folder / "pipeline.json").write_text(json.dumps(manifest))
    (folder / "weights.safetensors").write_bytes(b"weights")
    return folder


def test_a_pipeline_is_hashed_by_both_files_and_names_its_members(tmp_path):
    folder = _pipeline_folder(tmp_path / "p", ["vlm-a", "clf-b"])
    checked = check_source(f"pipeline:{folder}", [tmp_path], tmp_path / "manifest.json")
    expected = hashlib.sha256((folder / "pipeline.json").read_bytes() + b"weights").hexdigest()
    assert (checked.kind, checked.content_hash) == ("pipeline", expected)
    assert checked.member_sources == ("starter:vlm-a", "starter:clf-b")
    assert checked.class_names == ("zero", "one")
    with pytest.raises(SourceOutsideRootsError):
        check_source(f"pipeline:{folder}", [tmp_path / "elsewhere"], tmp_path / "manifest.json")


def test_registering_a_pipeline_records_its_registered_members(tmp_path):
    store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
    store.register("vlm-a", "starter:vlm-a", "vlm", "h1")
    folder = _pipeline_folder(tmp_path / "p", ["vlm-a"])
    manifest = tmp_path / "manifest.json"
    assert register_source(store, "pipe", f"pipeline:{folder}", [tmp_path], manifest)
    model = store.model("pipe")
    assert model["kind"] == "pipeline" and model["class_names"] == ["zero", "one"]
    assert [m["model_id"] for m in model["members"]] == ["vlm-a"]
    other = _pipeline_folder(tmp_path / "q", ["vlm-a", "clf-ghost"])
    with pytest.raises(SourceError, match="does not hold: starter:clf-ghost; register them"):
        register_source(store, "pipe2", f"pipeline:{other}", [tmp_path], manifest)
    store.close()
