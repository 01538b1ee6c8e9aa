"""Delivering the registry's outbox to Prefect: `hubscout.model.registered` events.

A registration stores its event in the outbox in the same transaction as the model row; the
sender posts due events to the Prefect API (`POST /events`) and marks each delivered. A failed
send stays in the outbox and is retried with exponential backoff, so an event is never lost
when Prefect is down. Every event keeps the id it was stored with, and Prefect keeps one
event per id, so a re-send after a lost answer does not make a second event. Without a
Prefect API (HUBSCOUT_PREFECT_API_URL / PREFECT_API_URL) events wait until one is configured.
"""

import logging
import threading
import time
from datetime import UTC, datetime

import httpx

from registry.outbox import CLAIM_LEASE_SECONDS
from registry.store import RegistryStore

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0
# One send's worst case: connecting, writing and reading, each within the timeout.
SEND_WORST_CASE_SECONDS = 3 * SEND_TIMEOUT_SECONDS + 1.0
BATCH_EVENTS = 10
POLL_SECONDS = 1.0


def prefect_event(stored: dict) -> dict:
    """The Prefect event of an outbox row: resource hubscout.model.<name>, the payload
    (name, source, hash), the id it was stored with."""
    payload = stored["payload"]
    created = stored["created_at"]
    occurred = (created if created.tzinfo else created.replace(tzinfo=UTC)).isoformat()
    return {
        "id": stored["event_id"],
        "occurred": occurred,
        "event": stored["event"],
        "resource": {
            "prefect.resource.id": f"hubscout.model.{payload['name']}",
            "prefect.resource.name": payload["name"],
        },
        "related": [],
        "payload": payload,
    }


class OutboxSender:
    """Sends due outbox events to the Prefect API, on a background thread or on demand."""

    def __init__(self, store: RegistryStore, api_url: str | None) -> None:
        self.store, self.api_url = store, api_url.rstrip("/") if api_url else None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain(self) -> int:
        """Send every due event once, a batch at a time; the number delivered."""
        if self.api_url is None:
            return 0
        delivered = 0
        with httpx.Client(timeout=SEND_TIMEOUT_SECONDS) as client:
            while True:
                claimed, sent = self._send_batch(client)
                delivered += sent
                if not claimed:
                    return delivered

    def _send_batch(self, client: httpx.Client) -> tuple[int, int]:
        """Claim a batch and send it: (events claimed, events delivered). The batch stops
        sending while its claim still has a send's worst case to run (the rest are released
        at once), so no other sender claims an event this one is still sending; one event's
        failure, whatever it is, counts against that event alone."""
        deadline = time.monotonic() + CLAIM_LEASE_SECONDS - SEND_WORST_CASE_SECONDS
        claimed = self.store.outbox.claim(BATCH_EVENTS, CLAIM_LEASE_SECONDS)
        delivered = 0
        for number, stored in enumerate(claimed):
            if time.monotonic() > deadline:
                self.store.outbox.release([event["event_id"] for event in claimed[number:]])
                break
            try:
                answer = client.post(f"{self.api_url}/events", json=[prefect_event(stored)])
                answer.raise_for_status()
            except Exception as error:  # this event's own failure, retried with backoff
                self.store.outbox.failed(stored["event_id"], f"{type(error).__name__}: {error}")
                continue
            self.store.outbox.sent(stored["event_id"])
            delivered += 1
        return len(claimed), delivered

    def start(self) -> None:
        """Drain in the background: every second, and at once after `wake()`."""
        if self.api_url is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask the background sender to drain now (after a registration)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the background sender (events left wait for the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=SEND_TIMEOUT_SECONDS * 2)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # a database hiccup must not kill the sender
                logger.exception("the outbox sender failed; retrying at %s", datetime.now(UTC))
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
