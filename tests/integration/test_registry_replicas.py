"""Two registry replicas (separate service processes) on one PostgreSQL schema: both serve,
both send the shared outbox's events to a real Prefect server, and no event is delivered
twice (the outbox counts deliveries); a replica sends the events another replica stored."""

import httpx

from flows.worker import local_prefect_server
from hubscout.settings import Settings
from registry.store import RegistryStore
from tests.conftest import TINY_CLIP_ARCH, TOKEN, free_port, running_service, wait_for

WRITE = {"Authorization": f"Bearer {TOKEN}"}


def register(replica, name: str) -> None:
    body = {"name": name, "source": f"open_clip:{TINY_CLIP_ARCH}@{replica.root / 'tiny.pt'}"}
    answer = httpx.post(f"{replica.base}/models", json=body, headers=WRITE, timeout=30)
    assert answer.status_code == 202, answer.text


def test_two_replicas_share_the_outbox_and_deliver_each_event_once(tmp_path, tiny_clip, tiny_world):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect = {"HUBSCOUT_PREFECT_API_URL": api}
    names = [f"clip-{number:02d}" for number in range(23)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_service(tmp_path / "a", "postgresql", tiny_clip[1], tiny_world, prefect) as a:
        shared = {"HUBSCOUT_DATABASE_URL": a.env["HUBSCOUT_DATABASE_URL"]}
        store = RegistryStore(shared["HUBSCOUT_DATABASE_URL"])
        sent = lambda: all(e["sent"] for e in store.outbox.events())  # noqa: E731
        with running_service(
            tmp_path / "b", "sqlite", tiny_clip[1], tiny_world, prefect | shared
        ) as b:
            for number, name in enumerate(names[:20]):  # Prefect is down: the events wait
                register((a, b)[number % 2], name)
            assert len(store.outbox.events()) == 20 and not any(
                e["sent"] for e in store.outbox.events()
            )
            for replica, other in ((a, "clip-01"), (b, "clip-00")):  # each serves both
                assert httpx.get(f"{replica.base}/models/{other}").status_code == 200
            with local_prefect_server(Settings(data_dir=tmp_path / "prefect"), port):
                wait_for(sent, 180, "the delivery of 20 events by two replicas")
            for name in names[20:]:  # Prefect is down again; b stores three more and stops
                register(b, name)
        # a sends the events b stored
        with local_prefect_server(Settings(data_dir=tmp_path / "prefect"), port):
            wait_for(sent, 180, "the delivery of b's events by a")
            stored = sorted(e["event_id"] for e in store.outbox.events())
            persisted = wait_for(  # Prefect persists what it received a moment later
                lambda: sorted(_events(api)) == stored and stored, 60, "persistence"
            )
        delivered = {e["payload"]["name"]: e["deliveries"] for e in store.outbox.events()}
        assert delivered == dict.fromkeys(names, 1)  # none twice
        assert len(persisted) == len(names)  # every event reached Prefect
        store.close()


def _events(api: str) -> list[str]:
    """The ids of the hubscout.model.registered events the Prefect server holds."""
    body = {
        "filter": {
            "event": {"name": ["hubscout.model.registered"]},
            "occurred": {"since": "2020-01-01T00:00:00Z"},
        },
        "limit": 50,
    }
    answer = httpx.post(f"{api}/events/filter", json=body, timeout=10)
    answer.raise_for_status()
    return [event["id"] for event in answer.json()["events"]]
