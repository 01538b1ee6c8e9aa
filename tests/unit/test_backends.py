"""The two query backends of the CLI answer the same request with the same document: the
registry database read in-process and a running registry service over the same database."""

import json
import shutil

import numpy as np
import pytest

from hubscout.backends import LocalBackend, RemoteBackend
from hubscout.errors import ConfigError
from hubscout.settings import Settings
from registry.client import RegistryClient
from tests.conftest import TOKEN, running_service


def test_local_and_remote_backends_give_the_same_answers(
    labeled_data_dir, tiny_clip, tiny_world, tmp_path, monkeypatch
):
    shutil.copytree(labeled_data_dir, tmp_path / "data")
    # the starter loader still finds the hub's manifest through the environment (issue 28)
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(tmp_path / "data"))
    rng = np.random.default_rng(0)
    dataset = tmp_path / "two-classes.npz"
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    np.savez(dataset, images=images, labels=np.array([0, 1] * 6))
    request = {
        "class_names": ["crimson", "navy"],
        "kind": "vlm",
        "k": 2,
        "max_params": None,
        "licenses": [],
    }
    local = LocalBackend(Settings())
    try:
        here = (local.select(request), local.rank(str(dataset), "logme,ncti", "all"))
    finally:
        local.close()
    with (
        running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world) as service,
        RegistryClient(service.base, TOKEN) as client,
    ):
        remote = RemoteBackend(client)
        there = (remote.select(request), remote.rank(str(dataset), "logme,ncti", "all"))
        with pytest.raises(ConfigError, match=r"give an \.npz or a \.zip"):
            remote.rank("swatches", "logme", "all")  # a world task is a local name
        with pytest.raises(ConfigError, match="no example images given"):
            remote.identify([], None, "generator")
    assert here[0]["hub_version"] == there[0]["hub_version"] == 1 and here[0]["ranking"]
    assert json.loads(json.dumps(here[0])) == there[0]  # the same document, to the last digit
    assert here[1]["examples"] == there[1]["examples"] == 12
    assert [r["model"] for r in here[1]["ranking"]] == [r["model"] for r in there[1]["ranking"]]
    for mine, theirs in zip(here[1]["ranking"], there[1]["ranking"], strict=True):
        assert mine["scores"] == pytest.approx(theirs["scores"], rel=1e-6)
