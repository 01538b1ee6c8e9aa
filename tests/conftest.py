"""Shared fixtures: offline environment, an isolated data dir, tiny checkpoints on disk."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
import numpy as np
import pytest
import sqlalchemy
import torch

from hubscout.settings import OFFLINE_DEFAULTS

os.environ.update(OFFLINE_DEFAULTS)
os.environ["RAY_AUTH_MODE"] = "disabled"
PRODUCTION_VARIABLES = ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "RAY_ADDRESS")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir that Settings() resolves to, with no production engine configured."""
    directory = tmp_path / "data"
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(directory))
    for name in PRODUCTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("HUBSCOUT_") and name != "HUBSCOUT_DATA_DIR":
            monkeypatch.delenv(name)
    return directory


TINY_CLIP_ARCH = "hs-vit-w64-p8"


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A randomly initialised tiny open_clip model and its state dict saved to disk."""
    import open_clip

    from hubscout.models.open_clip_loader import CONFIG_DIR

    open_clip.add_model_config(CONFIG_DIR)
    torch.manual_seed(0)
    module = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None).eval()
    path = tmp_path_factory.mktemp("clip") / "tiny.pt"
    torch.save(module.state_dict(), path)
    return module, path


@pytest.fixture(scope="session")
def tiny_timm(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A tiny timm ResNet with 5 classes, its weights as safetensors and a model card."""
    import timm
    from safetensors.torch import save_file

    from hubscout.models.cards import ModelCard, write_card

    torch.manual_seed(0)
    module = timm.create_model("resnet10t", pretrained=False, num_classes=5).eval()
    path = tmp_path_factory.mktemp("timm") / "tiny-resnet.safetensors"
    save_file(module.state_dict(), str(path))
    classes = ["circle", "square", "triangle", "star", "hexagon"]
    card = ModelCard(
        name="tiny-resnet",
        kind="classifier",
        architecture="resnet10t",
        source=f"timm:resnet10t@{path}",
        source_classes=classes,
        image_size=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
    )
    write_card(path, card)
    return module, path


@pytest.fixture(scope="session")
def random_images() -> np.ndarray:
    """Twenty random 32x32 RGB images."""
    return np.random.default_rng(0).integers(0, 256, size=(20, 32, 32, 3), dtype=np.uint8)


def _tiny_hub_params():
    from hubscout.starter.build import HubParams

    return HubParams(profile="tiny", generator_images=600)


TINY_HUB = _tiny_hub_params()

TINY_WORLD = {
    "probes_per_leaf": 10,
    "train_per_class": 10,
    "val_per_class": 5,
    "test_per_class": 20,
    "pool_size": 3000,
}


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small world built once per session; returns its folder."""
    from hubscout.data.store import WorldParams, build_world

    out = tmp_path_factory.mktemp("world") / "world"
    build_world(WorldParams(**TINY_WORLD), out)
    return out


@pytest.fixture(scope="session")
def tiny_hub(tiny_world, tmp_path_factory):
    """The tiny profile trained once: (hub dir, {name: (spec, card, module)}).

    The hub sits in `<data dir>/hub` beside a copy of the world, as the pipeline lays it out.
    """
    import shutil

    from hubscout.data.store import World
    from hubscout.starter.build import build_model, write_manifest

    data = tmp_path_factory.mktemp("hubdata") / "data"
    shutil.copytree(tiny_world, data / "world")
    hub = data / "hub"
    world = World(data / "world")
    built = {}
    for recipe in TINY_HUB.recipes():
        card, trained = build_model(recipe, world, TINY_HUB, hub)
        built[recipe.name] = (recipe, card, trained.module)
    write_manifest(hub, TINY_HUB.recipes())
    return hub, built


@pytest.fixture
def starter_data_dir(tiny_hub, monkeypatch) -> Path:
    """Settings() resolves to the tiny hub's data dir."""
    data = tiny_hub[0].parent
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(data))
    return data


@pytest.fixture
def fresh_data_dir(tiny_hub, tmp_path, monkeypatch) -> Path:
    """A private copy of the tiny hub's data dir (world and hub, no labels), for tests that
    write labels."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_hub[0].parent / "world", data / "world")
    shutil.copytree(tiny_hub[0], data / "hub")
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(data))
    return data


@pytest.fixture(scope="session")
def labeled_data_dir(tiny_hub, tmp_path_factory) -> Path:
    """A copy of the tiny hub's data dir with every VLM and classifier labeled, registered in
    its registry database and their labels published (hub version 1)."""
    import shutil

    import polars as pl

    from hubscout.data.store import World
    from hubscout.labeling.store import label_model
    from hubscout.settings import Settings
    from registry.publication import Publication, label_publications
    from registry.sources import register_source
    from registry.store import RegistryStore

    data = tmp_path_factory.mktemp("labeled") / "data"
    shutil.copytree(tiny_hub[0].parent / "world", data / "world")
    shutil.copytree(tiny_hub[0], data / "hub")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSCOUT_DATA_DIR", str(data))
        settings = Settings()
        store = RegistryStore(settings.registry_database_url)
        tables = []
        for name, (_, card, _) in tiny_hub[1].items():
            source = f"starter:{name}"
            register_source(
                store, name, source, settings.source_roots, settings.layout.hub_manifest
            )
            if card.kind != "generator":
                tables.append(label_model(source, World(data / "world"), settings).table)
        store.publish(Publication("tiny hub", labels=label_publications(pl.concat(tables))))
        store.close()
    return data


@pytest.fixture(scope="session")
def published_hub(labeled_data_dir):
    """(hub snapshot, selection index) of the labeled tiny hub, read from its registry."""
    from hubscout.settings import Settings
    from registry.index import HubIndex
    from registry.store import RegistryStore

    store = RegistryStore(f"sqlite:///{labeled_data_dir / 'registry.db'}")
    try:
        return HubIndex(store, Settings(data_dir=labeled_data_dir)).current()
    finally:
        store.close()


POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"
TOKEN = "s3cret-token-of-the-tests"


class Service(NamedTuple):
    """A running registry service: its URL, the allowed root holding a copy of the tiny
    open_clip checkpoint (tiny.pt), that file's SHA-256, and the HUBSCOUT_ settings it runs
    with (the flows that publish to it need the same)."""

    base: str
    root: Path
    digest: str
    env: dict[str, str]


def load_hub_model(uri: str):
    """A model by its source URI, a `starter:` one through the hub manifest of the data dir
    that the test's fixture chose (HUBSCOUT_DATA_DIR)."""
    from hubscout.models import load_model
    from hubscout.settings import Settings

    return load_model(uri, manifest=Settings().layout.hub_manifest)


def wait_for(condition, timeout_s: float, what: str, poll_s: float = 0.5):
    """The first truthy value of `condition()`, polled every `poll_s` seconds; an
    AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def register_checkpoint(settings, name: str, checkpoint: Path) -> None:
    """Register a tiny open_clip checkpoint file as `name` through the registry's one path."""
    from registry.sources import register_source
    from registry.store import RegistryStore

    store = RegistryStore(settings.registry_database_url)
    try:
        source = f"open_clip:{TINY_CLIP_ARCH}@{checkpoint}"
        register_source(store, name, source, settings.source_roots, settings.layout.hub_manifest)
    finally:
        store.close()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_service(
    tmp_path: Path, database: str, tiny_clip_file: Path, world: Path, extra_env: dict | None = None
) -> Iterator[Service]:
    """The registry service on a real uvicorn (loopback, a free port) over a data dir with a
    copy of the tiny world, on SQLite or on a fresh PostgreSQL schema; stopped by its process
    id and the schema dropped afterwards."""
    import shutil

    root = tmp_path / "models"
    root.mkdir(exist_ok=True)
    checkpoint = root / "tiny.pt"
    checkpoint.write_bytes(tiny_clip_file.read_bytes())
    data = tmp_path / "data"
    if not (data / "world").exists():
        shutil.copytree(world, data / "world")
    settings = {
        "HUBSCOUT_DATA_DIR": str(data),
        "HUBSCOUT_REGISTRY_TOKEN": TOKEN,
        "HUBSCOUT_REGISTRY_SOURCE_ROOTS": f'["{root}"]',
        "HUBSCOUT_REGISTRY_MAX_REQUEST_BYTES": "4000",
        "HUBSCOUT_REGISTRY_MAX_UPLOAD_BYTES": "200000",
    }
    admin, schema = None, f"hubscout_{uuid.uuid4().hex[:10]}"
    if database == "postgresql":
        admin = sqlalchemy.create_engine(POSTGRES)
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        settings["HUBSCOUT_DATABASE_URL"] = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSCOUT_")}
    env |= settings | (extra_env or {})
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "registry.service:app_from_environment",
    ]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the registry did not start: {process.stderr.read()}")
            time.sleep(0.2)
        yield Service(base, root, hashlib.sha256(checkpoint.read_bytes()).hexdigest(), settings)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


@contextmanager
def service_awaiting_prefect(
    tmp_path: Path, tiny_clip_file: Path, world: Path
) -> Iterator[tuple[Service, int, str]]:
    """The registry service (SQLite) sending its events to a free loopback port where no
    Prefect answers yet: (the service, that port, the Prefect API URL on it)."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    extra = {"HUBSCOUT_PREFECT_API_URL": api}
    with running_service(tmp_path, "sqlite", tiny_clip_file, world, extra) as service:
        yield service, port, api


@contextmanager
def running_worker(
    settings_env: dict[str, str], log: Path, prefect_port: int | None = None
) -> Iterator[None]:
    """`hubscout worker` with these settings (HUBSCOUT_ and engine variables), logging to
    `log`: with `prefect_port` it starts its own local Prefect server there, else it serves
    the deployments to the PREFECT_API_URL of `settings_env`; stopped by its process group's
    id afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSCOUT_", "PREFECT_API"))}
    env |= settings_env | {"RAY_AUTH_MODE": "disabled", "PREFECT_SERVER_UI_ENABLED": "false"}
    command = [sys.executable, "-c", "from hubscout.cli import main; main()", "worker"]
    if prefect_port is not None:
        command += ["--prefect-port", str(prefect_port)]
    with log.open("w") as output:
        worker = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path, tiny_clip, tiny_world) -> Iterator[Service]:
    """The registry service on SQLite and on PostgreSQL."""
    with running_service(tmp_path, request.param, tiny_clip[1], tiny_world) as running:
        yield running
