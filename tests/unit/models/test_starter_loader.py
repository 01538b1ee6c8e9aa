import json

import pytest

from hubscout.errors import ConfigError, SourceError
from hubscout.models import load_model
from hubscout.models.starter_loader import read_manifest, resolve
from hubscout.settings import Settings
from tests.conftest import TINY_CLIP_ARCH


def write_manifest(data_dir, tiny_clip):
    _, checkpoint = tiny_clip
    hub = data_dir / "hub"
    (hub / "vlm").mkdir(parents=True)
    (hub / "vlm" / "tiny.pt").write_bytes(checkpoint.read_bytes())
    entry = {
        "name": "tiny",
        "kind": "vlm",
        "scheme": "open_clip",
        "architecture": TINY_CLIP_ARCH,
        "checkpoint": "vlm/tiny.pt",
    }
    manifest = {"models": [entry], "planned": ["tiny"]}
    (hub / "manifest.json").write_text(json.dumps(manifest))
    return hub


def test_starter_names_resolve_through_the_manifest(data_dir, tiny_clip):
    hub = write_manifest(data_dir, tiny_clip)
    path = Settings().layout.hub_manifest
    assert resolve("tiny", path) == f"open_clip:{TINY_CLIP_ARCH}@{hub / 'vlm' / 'tiny.pt'}"
    model = load_model("starter:tiny", manifest=path)
    assert model.source == "starter:tiny"
    assert model.content_hash == load_model(resolve("tiny", path)).content_hash


def test_the_manifest_is_the_callers_not_the_environments(data_dir, tiny_clip, monkeypatch):
    path = write_manifest(data_dir, tiny_clip) / "manifest.json"
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(data_dir / "elsewhere"))
    assert load_model("starter:tiny", manifest=path).source == "starter:tiny"
    with pytest.raises(ConfigError, match="pass manifest="):
        load_model("starter:tiny")


def test_unknown_starter_model_lists_the_known_ones(data_dir, tiny_clip):
    path = write_manifest(data_dir, tiny_clip) / "manifest.json"
    with pytest.raises(SourceError, match="has no model 'huge'; it has: tiny"):
        load_model("starter:huge", manifest=path)


def test_missing_and_invalid_manifest(data_dir):
    path = data_dir / "hub" / "manifest.json"
    with pytest.raises(SourceError, match="not built"):
        load_model("starter:tiny", manifest=path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid"):
        load_model("starter:tiny", manifest=path)


def test_a_manifest_is_complete_once_every_planned_model_is_listed(data_dir, tiny_clip):
    hub = write_manifest(data_dir, tiny_clip)
    assert read_manifest(hub / "manifest.json").complete
    document = json.loads((hub / "manifest.json").read_text())
    (hub / "manifest.json").write_text(json.dumps(document | {"planned": ["tiny", "later"]}))
    assert not read_manifest(hub / "manifest.json").complete
    (hub / "manifest.json").write_text(json.dumps({"models": document["models"]}))
    with pytest.raises(ConfigError, match="planned"):  # a manifest of the older format
        read_manifest(hub / "manifest.json")
