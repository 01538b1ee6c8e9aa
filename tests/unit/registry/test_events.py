from datetime import UTC, datetime

from registry.events import OutboxSender, prefect_event
from registry.store import REGISTERED_EVENT, RegistryStore


def test_an_outbox_row_becomes_a_prefect_event_with_the_stored_id():
    stored = {
        "event_id": "0b8c5e52-5b1f-4a8e-9a43-9b0a1f0e8e11",
        "event": REGISTERED_EVENT,
        "payload": {"name": "clip-a", "source": "open_clip:x@/m/a.pt", "hash": "h1"},
        "created_at": datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
        "attempts": 0,
    }
    event = prefect_event(stored)
    assert event == {
        "id": stored["event_id"],
        "occurred": "2026-11-28T10:00:00+00:00",
        "event": "hubscout.model.registered",
        "resource": {
            "prefect.resource.id": "hubscout.model.clip-a",
            "prefect.resource.name": "clip-a",
        },
        "related": [],
        "payload": stored["payload"],
    }
    naive = prefect_event(stored | {"created_at": datetime(2026, 11, 28, 10, 0)})  # SQLite's
    assert naive["occurred"] == "2026-11-28T10:00:00+00:00"


def test_without_a_prefect_api_events_wait_and_nothing_is_sent(tmp_path):
    store = RegistryStore(f"sqlite:///{tmp_path / 'r.db'}")
    store.register("clip-a", "open_clip:x@/m/a.pt", "vlm", "h1")
    sender = OutboxSender(store, None)
    assert sender.drain() == 0
    sender.start()  # no thread without an API
    assert sender._thread is None
    assert [(e["attempts"], e["sent"]) for e in store.outbox()] == [(0, False)]
    unreachable = OutboxSender(store, "http://127.0.0.1:9/api")
    assert unreachable.drain() == 0
    [event] = store.outbox()
    assert event["attempts"] == 1 and "ConnectError" in event["last_error"]
    assert unreachable.drain() == 0 and store.outbox()[0]["attempts"] == 1  # backing off
    store.close()
