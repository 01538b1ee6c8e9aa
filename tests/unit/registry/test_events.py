import contextlib
import http.server
import json
import socket
import threading
import time
from datetime import UTC, datetime
from typing import ClassVar

import httpx

from registry import events
from registry.events import OutboxSender, prefect_event
from registry.outbox import REGISTERED_EVENT
from registry.store import RegistryStore


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
    assert [(e["attempts"], e["sent"]) for e in store.outbox.events()] == [(0, False)]
    unreachable = OutboxSender(store, "http://127.0.0.1:9/api")
    assert unreachable.drain() == 0
    [event] = store.outbox.events()
    assert event["attempts"] == 1 and "ConnectError" in event["last_error"]
    assert unreachable.drain() == 0 and store.outbox.events()[0]["attempts"] == 1  # backing off
    store.close()


class _EventsEndpoint(http.server.BaseHTTPRequestHandler):
    """POST /api/events on loopback: records each event; drops the connection (no HTTP
    answer at all) for the model called 'bad'; waits `delay` seconds before answering."""

    received: ClassVar[list[str]] = []
    delay = 0.0

    def do_POST(self):
        [event] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = event["payload"]["name"]
        if name == "bad":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        time.sleep(self.delay)
        type(self).received.append(name)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _endpoint(delay: float = 0.0):
    _EventsEndpoint.received, _EventsEndpoint.delay = [], delay
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EventsEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def test_one_failing_event_never_holds_back_the_others(tmp_path):
    store = RegistryStore(f"sqlite:///{tmp_path / 'r.db'}")
    for name in ("a", "bad", "c"):
        store.register(name, f"open_clip:x@/m/{name}.pt", "vlm", name)
    with _endpoint() as api:
        assert OutboxSender(store, api).drain() == 2
    assert _EventsEndpoint.received == ["a", "c"]
    sent = {e["payload"]["name"]: (e["sent"], e["attempts"]) for e in store.outbox.events()}
    assert sent == {"a": (True, 1), "bad": (False, 1), "c": (True, 1)}
    store.close()


def test_a_batch_stops_sending_before_its_claim_could_run_out(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "CLAIM_LEASE_SECONDS", 1.0)
    monkeypatch.setattr(events, "SEND_WORST_CASE_SECONDS", 0.5)  # stop 0.5 s into the lease
    store = RegistryStore(f"sqlite:///{tmp_path / 'r.db'}")
    for number in range(6):
        store.register(f"m{number}", f"open_clip:x@/m/{number}.pt", "vlm", str(number))
    sender = OutboxSender(store, "unused")
    with _endpoint(delay=0.3) as api, httpx.Client(timeout=5) as client:
        sender.api_url = api
        claimed, delivered = sender._send_batch(client)
    assert (claimed, delivered) == (6, 2)  # sent at 0, 0.3; at 0.6 the batch gave the rest back
    due = store.outbox.claim()  # released: due again at once, for any sender
    assert [e["payload"]["name"] for e in due] == ["m2", "m3", "m4", "m5"]
    store.close()
