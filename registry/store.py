"""The registry's SQL store: which models the hub holds, their lifecycle and which label
version is current, and the hub version every answer is computed from.

SQLite in the embedded profile, PostgreSQL in production (`HUBSCOUT_DATABASE_URL`). Every
write is one transaction: a failed write leaves the previous state as it was. Opening a store
migrates its database to the newest schema (registry/migrations, Alembic).

Lifecycle of a model: registered -> labeling -> ready, or failed with its reason; retired
keeps its history but leaves every selection. Every status change is kept as an event. Each
label publish and each retire raises the hub version by one.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hubscout.errors import HubscoutError
from registry.migrate import upgrade

KINDS = ("vlm", "classifier", "generator")
STATUSES = ("registered", "labeling", "ready", "failed", "retired")


class RegistryError(HubscoutError):
    """A registry request that cannot be carried out."""


class RegistryConflictError(RegistryError):
    """A request that contradicts what the registry holds (a name taken by another source)."""


class UnknownModelError(RegistryError):
    """A model name the registry does not hold."""


class Base(DeclarativeBase):
    """Tables of the registry."""


class ModelRecord(Base):
    """A model of the hub."""

    __tablename__ = "models"
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="registered")
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    license: Mapped[str] = mapped_column(String(200), server_default="unknown")
    tags: Mapped[str] = mapped_column(String(2000), server_default="[]")  # a JSON list
    status_reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)


class LabelRecord(Base):
    """A label version published for a model; the latest one is current."""

    __tablename__ = "label_versions"
    __table_args__ = (UniqueConstraint("model_id", "label_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    label_version: Mapped[str] = mapped_column(String(64))
    graph_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatusEvent(Base):
    """One status change of a model, with its reason."""

    __tablename__ = "status_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HubVersion(Base):
    """One hub version: raised by every label publish and every retire."""

    __tablename__ = "hub_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistryStore:
    """Models, their lifecycle, label versions and the hub version, behind SQLAlchemy."""

    def __init__(self, url: str) -> None:
        try:
            self.engine = create_engine(url)
            upgrade(self.engine)
        except SQLAlchemyError as error:
            raise RegistryError(f"cannot open the registry database {url}: {error}") from error

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def register(
        self,
        model_id: str,
        source: str,
        kind: str,
        content_hash: str,
        license: str = "unknown",
        tags: Sequence[str] = (),
    ) -> bool:
        """Add a model, or update the hash of the same source (new weights send it back to
        registered); True when something changed. A name that another source holds is a
        RegistryConflictError: retire it first or choose another name."""
        if kind not in KINDS:
            raise RegistryError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
        if not model_id or len(model_id) > 200:
            raise RegistryError("a model id must have 1 to 200 characters")
        try:
            return self._register(model_id, source, kind, content_hash, license, tags)
        except IntegrityError:  # a concurrent registration inserted the name first
            return self._register(model_id, source, kind, content_hash, license, tags)

    def _register(
        self,
        model_id: str,
        source: str,
        kind: str,
        content_hash: str,
        license: str,
        tags: Sequence[str],
    ) -> bool:
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            record = session.get(ModelRecord, model_id, with_for_update=True)
            if record is None:
                session.add(
                    ModelRecord(
                        model_id=model_id,
                        source=source,
                        kind=kind,
                        content_hash=content_hash,
                        status="registered",
                        registered_at=now,
                        license=license,
                        tags=json.dumps(sorted(set(tags))),
                    )
                )
                session.flush()
                session.add(StatusEvent(model_id=model_id, status="registered", at=now))
                return True
            if record.source != source and record.status != "retired":
                raise RegistryConflictError(
                    f"the name {model_id!r} belongs to {record.source}: register "
                    f"{source} under another name, or retire {model_id!r} first"
                )
            unchanged = record.source == source and record.content_hash == content_hash
            if unchanged and record.status != "retired":
                return False
            record.source, record.content_hash, record.kind = source, content_hash, kind
            record.license, record.tags = license, json.dumps(sorted(set(tags)))
            self._set_status(session, record, "registered", None, now)
            return True

    def set_status(self, model_id: str, status: str, reason: str | None = None) -> None:
        """Move a model to `status` (labeling, ready, failed ...), keeping the event."""
        if status not in STATUSES:
            raise RegistryError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        with Session(self.engine) as session, session.begin():
            record = self._record(session, model_id)
            self._set_status(session, record, status, reason, datetime.now(UTC))

    def publish_label(self, model_id: str, label_version: str, graph_hash: str, rows: int) -> bool:
        """Record a label version of a registered model and mark it ready; a new version
        raises the hub version. False when that version was already published."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            record = self._record(session, model_id)
            known = session.scalar(
                select(LabelRecord).where(
                    LabelRecord.model_id == model_id, LabelRecord.label_version == label_version
                )
            )
            if record.status != "ready":
                self._set_status(session, record, "ready", None, now)
            if known is not None:
                return False
            session.add(
                LabelRecord(
                    model_id=model_id,
                    label_version=label_version,
                    graph_hash=graph_hash,
                    rows=rows,
                    published_at=now,
                )
            )
            session.add(HubVersion(reason=f"label {label_version} of {model_id}", at=now))
            return True

    def retire(self, model_id: str) -> bool:
        """Retire a model: it leaves every selection, its history stays; raises the hub
        version. False when it was retired already."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            record = self._record(session, model_id)
            if record.status == "retired":
                return False
            self._set_status(session, record, "retired", None, now)
            session.add(HubVersion(reason=f"retired {model_id}", at=now))
            return True

    def hub_version(self) -> int:
        """The current hub version (0 before the first publish)."""
        with Session(self.engine) as session:
            return int(session.scalar(select(func.max(HubVersion.version))) or 0)

    def models(
        self, kind: str | None = None, status: str | None = None, tag: str | None = None
    ) -> list[dict]:
        """Models (filtered, ordered by name) with their status and current label version."""
        with Session(self.engine) as session:
            query = select(ModelRecord).order_by(ModelRecord.model_id)
            if kind is not None:
                query = query.where(ModelRecord.kind == kind)
            if status is not None:
                query = query.where(ModelRecord.status == status)
            records = [r for r in session.scalars(query).all() if tag is None or tag in _tags(r)]
            current = self._current_labels(session, [r.model_id for r in records])
            return [_summary(record, current.get(record.model_id)) for record in records]

    def model(self, model_id: str) -> dict:
        """One model with its status history and every label version, oldest first."""
        with Session(self.engine) as session:
            record = self._record(session, model_id)
            labels = session.scalars(
                select(LabelRecord).where(LabelRecord.model_id == model_id).order_by(LabelRecord.id)
            ).all()
            events = session.scalars(
                select(StatusEvent).where(StatusEvent.model_id == model_id).order_by(StatusEvent.id)
            ).all()
            current = labels[-1].label_version if labels else None
            return _summary(record, current) | {
                "history": [
                    {"status": e.status, "reason": e.reason, "at": e.at.isoformat()} for e in events
                ],
                "label_versions": [
                    {
                        "label_version": label.label_version,
                        "graph_hash": label.graph_hash,
                        "rows": label.rows,
                        "published_at": label.published_at.isoformat(),
                    }
                    for label in labels
                ],
            }

    @staticmethod
    def _record(session: Session, model_id: str) -> ModelRecord:
        record = session.get(ModelRecord, model_id)
        if record is None:
            raise UnknownModelError(f"model {model_id!r} is not registered: register it first")
        return record

    @staticmethod
    def _set_status(
        session: Session, record: ModelRecord, status: str, reason: str | None, at: datetime
    ) -> None:
        record.status, record.status_reason = status, reason
        session.add(StatusEvent(model_id=record.model_id, status=status, reason=reason, at=at))

    @staticmethod
    def _current_labels(session: Session, model_ids: list[str]) -> dict[str, str]:
        labels = session.scalars(
            select(LabelRecord).where(LabelRecord.model_id.in_(model_ids)).order_by(LabelRecord.id)
        ).all()
        return {label.model_id: label.label_version for label in labels}


def _tags(record: ModelRecord) -> list[str]:
    return json.loads(record.tags)


def _summary(record: ModelRecord, label_version: str | None) -> dict:
    return {
        "model_id": record.model_id,
        "source": record.source,
        "kind": record.kind,
        "content_hash": record.content_hash,
        "status": record.status,
        "status_reason": record.status_reason,
        "license": record.license,
        "tags": _tags(record),
        "label_version": label_version,
    }
