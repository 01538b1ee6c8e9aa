"""The registry's outbox against a real Prefect server: a registration made while Prefect is
down is stored, its event waits and is re-sent with backoff, and once Prefect answers it is
delivered exactly once."""

import time

import httpx
import pytest

from flows.worker import local_prefect_server
from hubscout.settings import Settings
from registry.outbox import REGISTERED_EVENT
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN, service_awaiting_prefect, wait_for

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def test_an_event_waits_while_prefect_is_down_and_is_delivered_once(
    tmp_path, tiny_clip, tiny_world
):
    with service_awaiting_prefect(tmp_path, tiny_clip[1], tiny_world) as (service, port, api):
        store = RegistryStore(f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db")
        source = f"open_clip:{TINY_CLIP_ARCH}@{service.root / 'tiny.pt'}"
        body = {"name": "tiny-clip", "source": source}
        assert (
            httpx.post(f"{service.base}/models", json=body, headers=WRITE, timeout=60).status_code
            == 202
        )
        [waiting] = wait_for(
            lambda: [e for e in store.outbox.events() if e["attempts"] >= 2], 30, "two failed sends"
        )
        assert not waiting["sent"] and "ConnectError" in waiting["last_error"]
        assert store.model("tiny-clip")["status"] == "registered"  # the model is stored
        with local_prefect_server(Settings(data_dir=tmp_path / "prefect-data"), port) as url:
            assert url == api
            ui = httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=10).json()
            assert ui["api_url"] == api  # the UI in a browser calls this port's API
            wait_for(lambda: store.outbox.events()[0]["sent"], 120, "the delivery")
            [event] = wait_for(lambda: _events(api, waiting["event_id"]), 60, "persistence")
            assert event["event"] == REGISTERED_EVENT
            assert event["payload"] == {
                "name": "tiny-clip",
                "source": source,
                "hash": service.digest,
            }
            assert event["resource"]["prefect.resource.id"] == "hubscout.model.tiny-clip"
            time.sleep(3)  # a second copy, if any were sent, would be persisted by now
            assert len(_events(api, waiting["event_id"])) == 1
            assert len(store.outbox.events()) == 1 and store.outbox.events()[0]["sent"]
        store.close()
        with pytest.raises(httpx.TransportError):  # the server was stopped
            httpx.get(f"{api}/health", timeout=2)


def _events(api: str, event_id: str) -> list[dict]:
    body = {"filter": {"id": {"id": [event_id]}, "occurred": {"since": "2020-01-01T00:00:00Z"}}}
    answer = httpx.post(f"{api}/events/filter", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["events"]
