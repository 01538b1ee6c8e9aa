"""Fixtures of the integration tests: a registry store, and the registry service on a real
uvicorn (loopback, a free port, stopped by its process id), on each database they support:
SQLite and the machine's PostgreSQL (127.0.0.1:5432, database test, a schema per test)."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import sqlalchemy

from registry.store import RegistryStore

POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"
TOKEN = "s3cret-token"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
        yield store
        store.close()
        return
    schema = f"hubscout_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    store = RegistryStore(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    yield store
    store.close()
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path, tiny_clip):
    """(base URL, allowed root with a copy of the tiny open_clip checkpoint, its SHA-256)."""
    root = tmp_path / "models"
    root.mkdir()
    checkpoint = root / "tiny.pt"
    checkpoint.write_bytes(tiny_clip[1].read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSCOUT_")}
    env |= {
        "HUBSCOUT_DATA_DIR": str(tmp_path / "data"),
        "HUBSCOUT_REGISTRY_TOKEN": TOKEN,
        "HUBSCOUT_REGISTRY_SOURCE_ROOTS": f'["{root}"]',
        "HUBSCOUT_REGISTRY_MAX_REQUEST_BYTES": "4000",
    }
    admin, schema = None, f"hubscout_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        admin = sqlalchemy.create_engine(POSTGRES)
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
        env["HUBSCOUT_DATABASE_URL"] = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    port = _free_port()
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
        yield base, root, hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
