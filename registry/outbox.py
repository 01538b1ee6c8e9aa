"""The registry's transactional outbox: a registration writes its event in the same
transaction as the model row (`emit_registered`); senders (registry/events.py) claim due
events for a lease, mark them sent, or count a failure and back off exponentially."""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.tables import OutboxRecord

REGISTERED_EVENT = "hubscout.model.registered"
# Outbox retries wait 2, 4, 8 ... seconds after each failed send, at most 5 minutes.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
# A sender owns the events it claimed this long; it stops sending a batch early enough to
# finish within it (registry/events.py).
CLAIM_LEASE_SECONDS = 60.0


def emit_registered(
    session: Session, model_id: str, source: str, content_hash: str, at: datetime
) -> None:
    """Queue a `hubscout.model.registered` event in the caller's transaction (the one that
    writes the model row), so that the event exists exactly when the registration does."""
    payload = {"name": model_id, "source": source, "hash": content_hash}
    session.add(
        OutboxRecord(
            event_id=str(uuid.uuid4()),
            event=REGISTERED_EVENT,
            payload=json.dumps(payload, sort_keys=True),
            created_at=at,
            attempts=0,
            deliveries=0,
            next_attempt_at=at,
        )
    )


class Outbox:
    """The outbox of one registry database, as its senders see it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, limit: int = 50, lease_s: float = CLAIM_LEASE_SECONDS) -> list[dict]:
        """Outbox events due for a (re)send, oldest first, each claimed for `lease_s`
        seconds: a claim moves the event's next attempt past the lease only if no other
        sender moved it first, so two service processes (or replicas) never send the same
        event at once; an event whose sender died is due again when the lease ends."""
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            due = session.execute(
                select(OutboxRecord.event_id, OutboxRecord.next_attempt_at)
                .where(OutboxRecord.sent_at.is_(None), OutboxRecord.next_attempt_at <= now)
                .order_by(OutboxRecord.id)
                .limit(limit)
            ).all()
        claimed = []
        for event_id, seen in due:
            with self._engine.begin() as connection:
                moved = connection.execute(
                    update(OutboxRecord)
                    .where(
                        OutboxRecord.event_id == event_id,
                        OutboxRecord.sent_at.is_(None),
                        OutboxRecord.next_attempt_at == seen,
                    )
                    .values(next_attempt_at=now + timedelta(seconds=lease_s))
                )
            if moved.rowcount == 1:
                claimed.append(event_id)
        with Session(self._engine) as session:
            records = session.scalars(
                select(OutboxRecord)
                .where(OutboxRecord.event_id.in_(claimed))
                .order_by(OutboxRecord.id)
            ).all()
            return [
                {
                    "event_id": r.event_id,
                    "event": r.event,
                    "payload": json.loads(r.payload),
                    "created_at": r.created_at,
                    "attempts": r.attempts,
                }
                for r in records
            ]

    def sent(self, event_id: str) -> None:
        """Mark an outbox event as delivered, counting every delivery (a second one would be
        a double send)."""
        with Session(self._engine) as session, session.begin():
            record = session.scalar(select(OutboxRecord).where(OutboxRecord.event_id == event_id))
            if record is None:
                return
            record.deliveries += 1
            if record.sent_at is None:
                record.sent_at = datetime.now(UTC)
                record.attempts += 1

    def release(self, event_ids: Sequence[str]) -> None:
        """Give claimed, unsent events back: due again now, for any sender."""
        with self._engine.begin() as connection:
            connection.execute(
                update(OutboxRecord)
                .where(OutboxRecord.event_id.in_(list(event_ids)), OutboxRecord.sent_at.is_(None))
                .values(next_attempt_at=datetime.now(UTC))
            )

    def failed(self, event_id: str, error: str) -> None:
        """Count a failed send and schedule the next one with exponential backoff."""
        with Session(self._engine) as session, session.begin():
            record = session.scalar(select(OutboxRecord).where(OutboxRecord.event_id == event_id))
            if record is None or record.sent_at is not None:
                return
            record.attempts += 1
            delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (record.attempts - 1))
            record.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            record.last_error = error[:2000]

    def events(self) -> list[dict]:
        """Every outbox event with its delivery state, oldest first."""
        with Session(self._engine) as session:
            records = session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)).all()
            return [
                {
                    "event_id": r.event_id,
                    "event": r.event,
                    "payload": json.loads(r.payload),
                    "attempts": r.attempts,
                    "sent": r.sent_at is not None,
                    "deliveries": r.deliveries,
                    "last_error": r.last_error,
                }
                for r in records
            ]
