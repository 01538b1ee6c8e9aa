import hashlib
import json
from pathlib import Path

import pytest
import torch

from hubscout.errors import (
    CheckpointMissingError,
    CorruptCheckpointError,
    NetworkRequiredError,
    SourceError,
    UnknownArchitectureError,
    UnknownSchemeError,
    UnsafeCheckpointError,
)
from registry.sources import (
    SourceChangedError,
    SourceOutsideRootsError,
    allowed_path,
    check_source,
    file_hash,
    register_source,
    verify_source,
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


def test_a_local_file_is_stored_by_its_resolved_path(tmp_path):
    (tmp_path / "real").mkdir()
    weights = tmp_path / "real" / "w.safetensors"
    weights.write_bytes(b"w")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    checked = check_source(
        f"timm:resnet10t@{tmp_path / 'link' / 'w.safetensors'}", [tmp_path], tmp_path
    )
    assert checked.source == f"timm:resnet10t@{weights}" and checked.path == weights
    with pytest.raises(SourceError, match="control characters"):
        check_source(f"timm:resnet10t@{tmp_path}/w\x00.pt", [tmp_path], tmp_path)


def test_verify_source_refuses_a_file_that_changed_since_registration(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"w")
    checked = check_source(f"timm:resnet10t@{weights}", [tmp_path], tmp_path)
    verify_source(checked.source, checked.content_hash, [tmp_path], tmp_path)
    weights.write_bytes(b"v")
    with pytest.raises(SourceChangedError, match="changed since registration"):
        verify_source(checked.source, checked.content_hash, [tmp_path], tmp_path)


def test_registration_refuses_what_would_download_pickle_or_not_build(tmp_path, tiny_clip):
    store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
    register = lambda source, **kw: register_source(store, "m", source, [tmp_path], tmp_path, **kw)  # noqa: E731
    with pytest.raises(NetworkRequiredError, match="allows no downloads"):
        register("open_clip:ViT-B-32/laion2b_s34b_b79k")
    with pytest.raises(SourceError, match="no pretrained tag 'nope' for ViT-B-32"):
        register("open_clip:ViT-B-32/nope", allow_downloads=True)
    with pytest.raises(UnknownArchitectureError, match="open_clip has no architecture 'x'"):
        register("open_clip:x/tag", allow_downloads=True)
    with pytest.raises(SourceError, match="'open_clip:x' names no weights"):
        register("open_clip:x")
    checkpoint = tmp_path / "tiny.pt"
    checkpoint.write_bytes(tiny_clip[1].read_bytes())
    with pytest.raises(UnknownArchitectureError, match="open_clip has no architecture 'nope'"):
        register(f"open_clip:nope@{checkpoint}")
    with pytest.raises(UnknownArchitectureError, match="timm has no architecture 'hf-hub:a/b'"):
        register(f"timm:hf-hub:a/b@{checkpoint}")
    pickled = tmp_path / "pickled.pt"
    torch.save({"weights": torch.zeros(2), "code": Path("x")}, pickled)
    with pytest.raises(UnsafeCheckpointError, match="pickled Python objects"):
        register(f"timm:resnet10t@{pickled}")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptCheckpointError):
        register(f"timm:resnet10t@{garbage}")
    assert store.models() == []  # nothing refused was stored
    assert register(f"open_clip:hs-vit-w64-p8@{checkpoint}")
    store.close()
