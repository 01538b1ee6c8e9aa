"""The registry's outbox against a real Prefect server: a registration made while Prefect is
down is stored, its event waits and is re-sent with backoff, and once Prefect answers it is
delivered exactly once."""

import os
import signal
import subprocess
import sys
import time

import httpx

from registry.store import REGISTERED_EVENT, RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN, free_port, running_service

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def _wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def _start_prefect(port: int, home) -> subprocess.Popen:
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    command = [sys.executable, "-m", "prefect", "server", "start"]
    return subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped by the group's id
    )


def test_an_event_waits_while_prefect_is_down_and_is_delivered_once(
    tmp_path, tiny_clip, tiny_world
):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    extra = {"HUBSCOUT_PREFECT_API_URL": api}
    with running_service(tmp_path, "sqlite", tiny_clip[1], tiny_world, extra) as service:
        store = RegistryStore(f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db")
        source = f"open_clip:{TINY_CLIP_ARCH}@{service.root / 'tiny.pt'}"
        body = {"name": "tiny-clip", "source": source}
        assert httpx.post(f"{service.base}/models", json=body, headers=WRITE).status_code == 202
        [waiting] = _wait_for(
            lambda: [e for e in store.outbox() if e["attempts"] >= 2], 30, "two failed sends"
        )
        assert not waiting["sent"] and "ConnectError" in waiting["last_error"]
        assert store.model("tiny-clip")["status"] == "registered"  # the model is stored
        prefect = _start_prefect(port, tmp_path / "prefect-home")
        try:
            _wait_for(lambda: _healthy(api), 120, "the Prefect server start")
            _wait_for(lambda: store.outbox()[0]["sent"], 120, "the delivery")
            [event] = _wait_for(lambda: _events(api, waiting["event_id"]), 60, "persistence")
            assert event["event"] == REGISTERED_EVENT
            assert event["payload"] == {
                "name": "tiny-clip",
                "source": source,
                "hash": service.digest,
            }
            assert event["resource"]["prefect.resource.id"] == "hubscout.model.tiny-clip"
            time.sleep(3)  # a second copy, if any were sent, would be persisted by now
            assert len(_events(api, waiting["event_id"])) == 1
            assert len(store.outbox()) == 1 and store.outbox()[0]["sent"]
        finally:
            os.killpg(prefect.pid, signal.SIGTERM)
            prefect.wait(timeout=30)
            store.close()


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _events(api: str, event_id: str) -> list[dict]:
    body = {"filter": {"id": {"id": [event_id]}, "occurred": {"since": "2020-01-01T00:00:00Z"}}}
    answer = httpx.post(f"{api}/events/filter", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["events"]
