"""The registry's Python client and the `hubscout models` CLI against a real service."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubscout.selection.ranking import DEFAULT_METRIC
from registry.client import RegistryClient, RegistryClientError
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN, running_service, wait_for


def test_the_client_registers_lists_shows_and_retires(service):
    base, root, digest, _ = service
    client = RegistryClient(base, TOKEN)
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    registered = client.register("tiny-clip", source, "MIT", ("tiny",))
    assert registered["model"]["content_hash"] == digest and registered["hub_version"] == 0
    assert [m["model_id"] for m in client.models(tag="tiny")["items"]] == ["tiny-clip"]
    assert client.model("tiny-clip")["model"]["status"] == "registered"
    assert client.retire("tiny-clip")["hub_version"] == 1
    with pytest.raises(RegistryClientError, match="answered 404: model 'ghost'"):
        client.model("ghost")
    client.close()
    reader = RegistryClient(base)  # no token: reads work, writes are refused
    assert reader.models()["total"] == 1
    assert reader.tuned() == {"hub_version": 1, "tuned": []}  # no benchmark has run
    with pytest.raises(RegistryClientError, match="answered 401"):
        reader.retire("tiny-clip")
    reader.close()


def test_a_registry_that_does_not_answer_is_one_clear_error():
    client = RegistryClient("http://127.0.0.1:9")
    with pytest.raises(RegistryClientError, match=r"does not answer.*hubscout serve"):
        client.models()
    client.close()


def _cli(*args, token=TOKEN, data_dir=None):
    """`hubscout` in a fresh process; stderr's last line says whether torch was imported."""
    code = (
        "import sys\nfrom hubscout.cli import main\ntry:\n    main()\nfinally:\n"
        "    print('torch imported:', 'torch' in sys.modules, file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSCOUT_")}
    env |= {"HUBSCOUT_REGISTRY_TOKEN": token, "COLUMNS": "200"}
    if data_dir is not None:
        env["HUBSCOUT_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


def _cli_started(*args, data_dir):
    """`hubscout` started in a fresh process, its output piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSCOUT_")}
    env |= {"HUBSCOUT_REGISTRY_TOKEN": TOKEN, "HUBSCOUT_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-c", "from hubscout.cli import main\nmain()", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_the_models_commands_talk_to_the_service_without_importing_torch(service):
    base, root, _, _ = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    registered = _cli("models", "register", "tiny-clip", source, "--tag", "x", "--registry", base)
    assert registered.returncode == 0, registered.stderr
    assert "registered" in registered.stdout
    listed = _cli("models", "list", "--status", "registered", "--registry", base)
    assert "1 model(s), hub version 0" in listed.stdout and "tiny-clip" in listed.stdout
    assert listed.stderr.strip().endswith("torch imported: False")
    retired = _cli(
        "models", "retire", "tiny-clip", "--registry", base, token="a-wrong-token-of-the-tests"
    )
    assert retired.returncode == 2
    [line, _] = retired.stderr.strip().splitlines()
    assert line.startswith("error: the registry answered 401: the token does not open writes")
    assert _cli("models", "show", "tiny-clip", "--registry", base).returncode == 0


def test_select_rank_and_identify_ask_the_service_without_importing_torch(service, tmp_path):
    import io

    import numpy as np
    import polars as pl
    from PIL import Image

    from registry.publication import LabelPublication, Publication
    from registry.store import RegistryStore

    base, root, _, env = service
    source = f"open_clip:{TINY_CLIP_ARCH}@{root / 'tiny.pt'}"
    assert _cli("models", "register", "clip-a", source, "--registry", base).returncode == 0
    url = env.get("HUBSCOUT_DATABASE_URL", f"sqlite:///{env['HUBSCOUT_DATA_DIR']}/registry.db")
    store = RegistryStore(url)
    table = pl.DataFrame(
        {
            "model_id": ["clip-a"] * 2,
            "node_id": ["crimson", "navy"],
            "metric": [DEFAULT_METRIC] * 2,
            "value": [0.75, 0.5],
            "label_version": ["l1"] * 2,
        }
    )
    store.publish(Publication("labels", labels=(LabelPublication("clip-a", "l1", "g", table),)))
    store.close()
    chosen = _cli("select", "crimson, navy, teapot", "--k", "1", "--registry", base)
    assert chosen.returncode == 0, chosen.stderr
    assert "overall ranking (hub version 1)" in chosen.stdout and "clip-a" in chosen.stdout
    assert "not covered by any concept: teapot" in chosen.stdout
    assert chosen.stderr.strip().endswith("torch imported: False")
    image = tmp_path / "a.png"
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(buffer, format="PNG")
    image.write_bytes(buffer.getvalue())
    found = _cli("identify", str(image), "--registry", base)
    assert found.returncode == 2 and "no published generator specifications" in found.stderr
    assert found.stderr.strip().endswith("torch imported: False")
    dataset = tmp_path / "d.npz"
    np.savez(dataset, images=np.zeros((8, 32, 32, 3), dtype=np.uint8), labels=np.arange(8) % 2)
    ranked = _cli("rank", str(dataset), "--metric", "logme,knn", "--registry", base)
    assert ranked.returncode == 0, ranked.stderr
    assert "d.npz: 8 labeled images, best first by logme (hub version 1)" in ranked.stdout
    assert "clip-a" in ranked.stdout and ranked.stderr.strip().endswith("torch imported: False")
    refused = _cli("rank", "swatches", "--registry", base)
    assert refused.returncode == 2 and "give an .npz or a .zip" in refused.stderr


def test_the_starter_hub_is_registered_over_http_and_followed_until_none_waits(
    tmp_path, tiny_hub, tiny_clip, tiny_world
):
    shutil.copytree(tiny_hub[0], tmp_path / "data" / "hub")  # the service's data dir
    with running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world) as service:
        data = service.env["HUBSCOUT_DATA_DIR"]
        names = sorted(tiny_hub[1])
        manifest = Path(data) / "hub" / "manifest.json"
        complete = manifest.read_text()
        document = json.loads(complete)
        first = [e for e in document["models"] if e["name"] == names[0]]
        manifest.write_text(json.dumps(document | {"models": first}))  # one model trained
        follower = _cli_started("models", "register-starter", "--follow", "--registry",
                                service.base, data_dir=data)  # fmt: skip
        client = RegistryClient(service.base)
        wait_for(
            lambda: client.models()["total"] == 1 or follower.poll() is not None, 60, "the first"
        )
        assert follower.poll() is None, follower.communicate()  # it follows until all are listed
        manifest.write_text(complete)
        listed = [e["name"] for e in document["models"] if e["name"] != names[0]]
        out, err = follower.communicate(timeout=60)
        assert follower.returncode == 0, err
        lines = out.strip().split("\n")
        assert [line.split(": ", 1)[1] for line in lines[:-1]] == [
            f"registered {name} ({number}/{len(names)})"
            for number, name in enumerate([names[0], *listed], 1)
        ]
        assert lines[-1] == f"registered {len(names)} starter models"
        models = client.models()["items"]
        client.close()
        assert [(m["model_id"], m["source"]) for m in models] == [
            (name, f"starter:{name}") for name in names
        ]
        waited = _cli("models", "wait", "--timeout", "2", "--registry", service.base)
        assert waited.returncode == 2
        assert waited.stdout.split()[1:] == ["s:", "registered", str(len(names))]
        assert "models still wait after 2 s: is `hubscout worker` running?" in waited.stderr
        store = RegistryStore(f"sqlite:///{data}/registry.db")
        for name in names[2:]:
            store.set_status(name, "ready")
        store.set_status(names[0], "failed", "bad weights")
        store.set_status(names[1], "registered", "waits for a reference")  # parked, not busy
        store.close()
        done = _cli("models", "wait", "--registry", service.base)
        assert done.returncode == 1
        assert done.stdout.split("\n")[:3] == [
            f"    0 s: failed 1, parked 1, ready {len(names) - 2}",
            f"parked: {names[1]}: waits for a reference",
            f"failed: {names[0]}: bad weights",
        ]
