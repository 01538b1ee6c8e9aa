"""The registry's SQL store: which models the hub holds, their lifecycle and which label
version is current, and the hub version every answer is computed from.

SQLite in the embedded profile, PostgreSQL in production (`HUBSCOUT_DATABASE_URL`). Every
write is one transaction: a failed write leaves the previous state as it was. Opening a store
migrates its database to the newest schema (registry/migrations, Alembic).

Lifecycle of a model: registered -> labeling -> ready, or failed with its reason; retired
keeps its history but leaves every selection. Every status change is kept as an event. Each
publish that brings something new and each retire raises the hub version by one.

Lineage: a pipeline is registered with the models it runs (its members, each with the
weights and label version it was trained on). Retiring a member, publishing a new label
version of it or registering new weights for it flags every pipeline that runs it, in the
same transaction; a pipeline's flags are cleared when it is registered again (retrained).

A publish is atomic for readers without relying on isolation levels: every published row is
stamped with the hub version its publish created, in the same transaction, and a snapshot
(`hub()`) reads the current version first and then only rows stamped at or below it. A
registration writes its outbox event in the same transaction as the model row.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hubscout.errors import HubscoutError
from hubscout.hub import LABEL_COLUMNS, Hub, HubModel
from hubscout.labeling.drift import label_drift
from registry.migrate import upgrade
from registry.publication import (
    BENCHMARKS,
    SPEC_KINDS,
    Publication,
    arrays_bytes,
    generator_spec,
    rkme_spec,
    table_bytes,
    table_from_bytes,
)

REGISTERED_EVENT = "hubscout.model.registered"
# Outbox retries wait 2, 4, 8 ... seconds after each failed send, at most 5 minutes.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
# A sender owns the events it claimed this long; it stops sending a batch early enough to
# finish within it (registry/events.py).
CLAIM_LEASE_SECONDS = 60.0

# How long a statement waits for a lock another writer holds before it fails (503 in the
# service): SQLite's busy timeout, PostgreSQL's lock_timeout; the pool waits as long.
DATABASE_WAIT_SECONDS = 5.0

KINDS = ("vlm", "classifier", "generator", "pipeline")
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
    parameters: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    class_names: Mapped[str] = mapped_column(Text, server_default="[]")  # a JSON list


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
    hub_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label_table: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    drift: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: moves vs previous


class SpecRecord(Base):
    """An identification (generator) or RKME specification published for a model."""

    __tablename__ = "specifications"
    __table_args__ = (UniqueConstraint("model_id", "spec_kind", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    spec_kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[str] = mapped_column(String(64))
    encoder: Mapped[str] = mapped_column(String(200))
    meta: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    hub_version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BenchmarkRecord(Base):
    """A published benchmark summary; the newest of each name is current."""

    __tablename__ = "benchmarks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50))
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    hub_version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelRowsRecord(Base):
    """A benchmark's rows about one model; the newest of each (model, benchmark) is current
    and replaces that model's rows in the benchmark's document."""

    __tablename__ = "model_benchmark_rows"
    __table_args__ = (UniqueConstraint("model_id", "benchmark", "digest"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    benchmark: Mapped[str] = mapped_column(String(50))
    digest: Mapped[str] = mapped_column(String(64))
    rows: Mapped[str] = mapped_column(Text)  # a JSON list
    hub_version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRecord(Base):
    """An event waiting to be sent (sent_at unset) or sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("outbox_pending", "sent_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deliveries: Mapped[int] = mapped_column(Integer, server_default="0")  # 1: exactly once
    last_error: Mapped[str | None] = mapped_column(String(2000), nullable=True)


class StatusEvent(Base):
    """One status change of a model, with its reason."""

    __tablename__ = "status_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PipelineMember(Base):
    """A registered model that a pipeline runs, as it was when the pipeline was trained."""

    __tablename__ = "pipeline_members"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "member_id"),
        Index("pipeline_members_member", "member_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    member_hash: Mapped[str] = mapped_column(String(64))
    member_label_version: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PipelineFlag(Base):
    """Why a pipeline may no longer be what it was trained as; open until cleared."""

    __tablename__ = "pipeline_flags"
    __table_args__ = (Index("pipeline_flags_pipeline", "pipeline_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("models.model_id"))
    reason: Mapped[str] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HubVersion(Base):
    """One hub version: raised by every label publish and every retire."""

    __tablename__ = "hub_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistryStore:
    """Models, their lifecycle, what was published for them and the hub version."""

    def __init__(self, url: str, wait_s: float = DATABASE_WAIT_SECONDS) -> None:
        try:
            self.engine = _engine(url, wait_s)
            upgrade(self.engine)
        except SQLAlchemyError as error:
            raise RegistryError(f"cannot open the registry database {url}: {error}") from error

    def check_ready(self) -> None:
        """Read every table of the registry once (an OperationalError when the database is
        down, locked past the wait, or not migrated)."""
        with self.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                connection.execute(select(text("1")).select_from(table).limit(1))

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
        parameters: int | None = None,
        class_names: Sequence[str] = (),
        members: Sequence[str] = (),
    ) -> bool:
        """Add a model, or update the hash of the same source (new weights send it back to
        registered); True when something changed, and then a `hubscout.model.registered`
        event waits in the outbox. A name that another source holds is a
        RegistryConflictError: retire it first or choose another name. A pipeline names the
        registered models it runs (`members`); other kinds name none."""
        if kind not in KINDS:
            raise RegistryError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
        if (kind == "pipeline") != bool(members):
            raise RegistryError(
                "a pipeline is registered with the models it runs, and only a pipeline is"
            )
        if not model_id or len(model_id) > 200:
            raise RegistryError("a model id must have 1 to 200 characters")
        card = {
            "license": license,
            "tags": json.dumps(sorted(set(tags))),
            "parameters": parameters,
            "class_names": json.dumps(list(class_names)),
        }
        try:
            return self._register(model_id, source, kind, content_hash, card, members)
        except IntegrityError:  # a concurrent registration inserted the name first
            return self._register(model_id, source, kind, content_hash, card, members)

    def _register(
        self,
        model_id: str,
        source: str,
        kind: str,
        content_hash: str,
        card: dict,
        members: Sequence[str],
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
                        **card,
                    )
                )
                session.flush()
                if members:
                    self._set_members(session, model_id, members, True, now)
                session.add(StatusEvent(model_id=model_id, status="registered", at=now))
                self._emit(session, model_id, source, content_hash, now)
                return True
            if record.source != source and record.status != "retired":
                raise RegistryConflictError(
                    f"the name {model_id!r} belongs to {record.source}: register "
                    f"{source} under another name, or retire {model_id!r} first"
                )
            unchanged = record.source == source and record.content_hash == content_hash
            if unchanged and record.status != "retired":
                return False
            if members:
                self._set_members(session, model_id, members, False, now)
            if record.content_hash != content_hash:
                self._flag_dependents(
                    session,
                    model_id,
                    f"{model_id} has new weights ({record.content_hash[:12]} -> "
                    f"{content_hash[:12]})",
                    now,
                )
            record.source, record.content_hash, record.kind = source, content_hash, kind
            for column, value in card.items():
                setattr(record, column, value)
            self._set_status(session, record, "registered", None, now)
            self._emit(session, model_id, source, content_hash, now)
            return True

    def claim_registered(self, limit: int) -> list[str]:
        """Move up to `limit` models waiting in `registered` (oldest registration first) to
        `labeling` for the caller; not those sent back with a reason to wait (a generator
        without a reference encoder), which re-processing takes. A model that another caller
        moved first is not returned, so each waiting model is claimed by one caller: one flow
        run takes a burst of registrations, and the runs that the burst's other events start
        find nothing left to take."""
        with Session(self.engine) as session:
            waiting = session.scalars(
                select(ModelRecord.model_id)
                .where(ModelRecord.status == "registered", ModelRecord.status_reason.is_(None))
                .order_by(ModelRecord.registered_at, ModelRecord.model_id)
                .limit(limit)
            ).all()
        claimed = []
        for model_id in waiting:
            with Session(self.engine) as session, session.begin():
                moved = session.execute(
                    update(ModelRecord)
                    .where(
                        ModelRecord.model_id == model_id,
                        ModelRecord.status == "registered",
                        ModelRecord.status_reason.is_(None),
                    )
                    .values(status="labeling", status_reason=None)
                )
                if moved.rowcount == 1:
                    at = datetime.now(UTC)
                    session.add(StatusEvent(model_id=model_id, status="labeling", at=at))
                    claimed.append(model_id)
        return claimed

    def set_status(self, model_id: str, status: str, reason: str | None = None) -> None:
        """Move a model to `status` (labeling, ready, failed ...), keeping the event."""
        if status not in STATUSES:
            raise RegistryError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        with Session(self.engine) as session, session.begin():
            record = self._record(session, model_id)
            self._set_status(session, record, status, reason, datetime.now(UTC))

    def publish(self, publication: Publication) -> int:
        """Make a publication current in one transaction and return the hub version: one
        new version when it brings a label version, specification or benchmark summary the
        registry does not hold (the models it labels or specifies become ready), else the
        current version unchanged."""
        unknown = {*publication.benchmarks, *(r.benchmark for r in publication.model_rows)}
        unknown -= set(BENCHMARKS)
        if unknown or any(spec.spec_kind not in SPEC_KINDS for spec in publication.specs):
            raise RegistryError(
                f"a publication holds benchmarks of {', '.join(BENCHMARKS)} and specifications "
                f"of kinds {', '.join(SPEC_KINDS)}; got {sorted(unknown) or 'another spec kind'}"
            )
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            _lock_versions(session)
            version = int(session.scalar(select(func.max(HubVersion.version))) or 0)
            new_rows: list[LabelRecord | SpecRecord | BenchmarkRecord | ModelRowsRecord] = []
            for label in publication.labels:
                record = self._record(session, label.model_id)
                known = session.scalar(
                    select(LabelRecord.id).where(
                        LabelRecord.model_id == label.model_id,
                        LabelRecord.label_version == label.label_version,
                    )
                )
                if record.status not in ("ready", "retired"):
                    self._set_status(session, record, "ready", None, now)
                if known is None:
                    previous = self._current_labels(session, [label.model_id]).get(label.model_id)
                    if previous is not None:
                        self._flag_dependents(
                            session,
                            label.model_id,
                            f"{label.model_id} was re-labeled ({previous[:12]} -> "
                            f"{label.label_version[:12]})",
                            now,
                        )
                    new_rows.append(
                        LabelRecord(
                            model_id=label.model_id,
                            label_version=label.label_version,
                            graph_hash=label.graph_hash,
                            rows=label.table.height,
                            published_at=now,
                            label_table=table_bytes(label.table),
                            drift=_drift(session, label.model_id, label.table),
                        )
                    )
            for spec in publication.specs:
                record = self._record(session, spec.model_id)
                known = session.scalar(
                    select(SpecRecord.id).where(
                        SpecRecord.model_id == spec.model_id,
                        SpecRecord.spec_kind == spec.spec_kind,
                        SpecRecord.version == spec.version,
                    )
                )
                if record.kind == "generator" and record.status not in ("ready", "retired"):
                    self._set_status(session, record, "ready", None, now)
                if known is None:
                    new_rows.append(
                        SpecRecord(
                            model_id=spec.model_id,
                            spec_kind=spec.spec_kind,
                            version=spec.version,
                            encoder=spec.encoder,
                            meta=json.dumps(spec.meta, sort_keys=True),
                            payload=arrays_bytes(spec.arrays),
                            published_at=now,
                        )
                    )
            for name, summary in sorted(publication.benchmarks.items()):
                document = json.dumps(summary, sort_keys=True)
                digest = hashlib.sha256(document.encode()).hexdigest()
                current = session.scalar(
                    select(BenchmarkRecord.digest)
                    .where(BenchmarkRecord.name == name)
                    .order_by(BenchmarkRecord.id.desc())
                    .limit(1)
                )
                if current != digest:
                    new_rows.append(
                        BenchmarkRecord(
                            name=name, document=document, digest=digest, published_at=now
                        )
                    )
            for rows in publication.model_rows:
                self._record(session, rows.model_id)
                document = json.dumps(list(rows.rows), sort_keys=True)
                digest = hashlib.sha256(document.encode()).hexdigest()
                current = session.scalar(
                    select(ModelRowsRecord.digest)
                    .where(
                        ModelRowsRecord.model_id == rows.model_id,
                        ModelRowsRecord.benchmark == rows.benchmark,
                    )
                    .order_by(ModelRowsRecord.id.desc())
                    .limit(1)
                )
                if current != digest:
                    new_rows.append(
                        ModelRowsRecord(
                            model_id=rows.model_id,
                            benchmark=rows.benchmark,
                            digest=digest,
                            rows=document,
                            published_at=now,
                        )
                    )
            if not new_rows:
                return version
            stamp = HubVersion(reason=publication.reason[:500], at=now)
            session.add(stamp)
            session.flush()
            for row in new_rows:
                row.hub_version = stamp.version
            session.add_all(new_rows)
            return int(stamp.version)

    def retire(self, model_id: str) -> bool:
        """Retire a model: it leaves every selection, its history stays; raises the hub
        version. False when it was retired already."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            _lock_versions(session)
            record = self._record(session, model_id)
            if record.status == "retired":
                return False
            self._set_status(session, record, "retired", None, now)
            self._flag_dependents(session, model_id, f"{model_id} was retired", now)
            session.add(HubVersion(reason=f"retired {model_id}", at=now))
            return True

    def hub_version(self) -> int:
        """The current hub version (0 before the first publish); asked on every query, so
        it is one Core statement, not an ORM session."""
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.max(HubVersion.version))) or 0)

    def hub(self) -> Hub:
        """A consistent snapshot of the hub: every model, and the current labels, specs and
        benchmark summaries of the ready ones, as of the current hub version."""
        with Session(self.engine) as session:
            version = int(session.scalar(select(func.max(HubVersion.version))) or 0)
            records = session.scalars(select(ModelRecord).order_by(ModelRecord.model_id)).all()
            ready = [r.model_id for r in records if r.status == "ready"]
            labels = self._current(session, LabelRecord, ready, version)
            specs = self._current(session, SpecRecord, ready, version)
            benchmarks = session.scalars(
                select(BenchmarkRecord)
                .where(BenchmarkRecord.hub_version <= version)
                .order_by(BenchmarkRecord.id)
            ).all()
            tables = [
                table_from_bytes(label.label_table)
                for label in labels
                if label.label_table is not None
            ]
            generator_specs = {
                s.model_id: generator_spec(s.model_id, s.version, s.meta, s.payload)
                for s in specs
                if s.spec_kind == "generator"
            }
            encoders = sorted({s.encoder for s in specs if s.spec_kind == "generator"})
            rkme_encoders = sorted({s.encoder for s in specs if s.spec_kind == "rkme"})
            current = {label.model_id: label.label_version for label in labels}
            return Hub(
                version=version,
                models={r.model_id: _hub_model(r, current.get(r.model_id)) for r in records},
                labels=(
                    pl.concat(tables)
                    if tables
                    else pl.DataFrame(schema=dict.fromkeys(LABEL_COLUMNS, pl.String))
                ),
                generator_specs=generator_specs,
                rkme_specs={
                    s.model_id: rkme_spec(s.meta, s.payload) for s in specs if s.spec_kind == "rkme"
                },
                reference_encoder=encoders[-1] if encoders else None,
                rkme_encoder=rkme_encoders[-1] if rkme_encoders else None,
                benchmarks={b.name: json.loads(b.document) for b in benchmarks},
            )

    def benchmark(self, name: str) -> tuple[dict, int] | None:
        """The current summary of a benchmark and the hub version it was published at."""
        with Session(self.engine) as session:
            record = session.scalar(
                select(BenchmarkRecord)
                .where(BenchmarkRecord.name == name)
                .order_by(BenchmarkRecord.id.desc())
                .limit(1)
            )
            return None if record is None else (json.loads(record.document), record.hub_version)

    def benchmark_rows(self, model_id: str) -> dict[str, list[dict]]:
        """benchmark -> the rows about `model_id`: its own newest rows where a flow measured
        it alone, else its rows in the benchmark's current document."""
        with Session(self.engine) as session:
            own = session.scalars(
                select(ModelRowsRecord)
                .where(ModelRowsRecord.model_id == model_id)
                .order_by(ModelRowsRecord.id)
            ).all()
            newest_own = {record.benchmark: json.loads(record.rows) for record in own}
        rows = {}
        for name in BENCHMARKS:
            published = self.benchmark(name)
            if name in newest_own:
                rows[name] = newest_own[name]
            elif published is not None:
                rows[name] = [r for r in published[0].get("rows", []) if r.get("model") == model_id]
        return {name: found for name, found in rows.items() if found}

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
            flagged = set(
                session.scalars(
                    select(PipelineFlag.pipeline_id).where(PipelineFlag.cleared_at.is_(None))
                ).all()
            )
            return [
                _summary(record, current.get(record.model_id))
                | {"flagged": record.model_id in flagged}
                for record in records
            ]

    def model(self, model_id: str) -> dict:
        """One model with its status history, every label version and specification,
        oldest first."""
        with Session(self.engine) as session:
            record = self._record(session, model_id)
            labels = session.scalars(
                select(LabelRecord).where(LabelRecord.model_id == model_id).order_by(LabelRecord.id)
            ).all()
            events = session.scalars(
                select(StatusEvent).where(StatusEvent.model_id == model_id).order_by(StatusEvent.id)
            ).all()
            specs = session.scalars(
                select(SpecRecord).where(SpecRecord.model_id == model_id).order_by(SpecRecord.id)
            ).all()
            current = labels[-1].label_version if labels else None
            return (
                _summary(record, current)
                | _lineage(session, model_id)
                | {
                    "label_summary": _label_summary(labels[-1].label_table if labels else None),
                    "history": [
                        {"status": e.status, "reason": e.reason, "at": e.at.isoformat()}
                        for e in events
                    ],
                    "label_versions": [
                        {
                            "label_version": label.label_version,
                            "graph_hash": label.graph_hash,
                            "rows": label.rows,
                            "published_at": label.published_at.isoformat(),
                            "hub_version": label.hub_version,
                            "drift": json.loads(label.drift) if label.drift else [],
                        }
                        for label in labels
                    ],
                    "specifications": [
                        {
                            "spec_kind": spec.spec_kind,
                            "version": spec.version,
                            "encoder": spec.encoder,
                            "hub_version": spec.hub_version,
                        }
                        for spec in specs
                    ],
                }
            )

    def drift(self, hub_version: int) -> pl.DataFrame:
        """The drift of the label versions published at `hub_version`: model_id,
        label_version and the moved nodes (node_id, previous, current, change)."""
        with Session(self.engine) as session:
            labels = session.scalars(
                select(LabelRecord)
                .where(LabelRecord.hub_version == hub_version, LabelRecord.drift.is_not(None))
                .order_by(LabelRecord.model_id)
            ).all()
            rows = [
                {"model_id": label.model_id, "label_version": label.label_version, **move}
                for label in labels
                for move in json.loads(label.drift or "[]")
            ]
        schema = {"model_id": pl.String, "label_version": pl.String, "node_id": pl.String}
        schema |= {"previous": pl.Float64, "current": pl.Float64, "change": pl.Float64}
        return pl.DataFrame(rows, schema=schema)

    def claim_events(self, limit: int = 50, lease_s: float = CLAIM_LEASE_SECONDS) -> list[dict]:
        """Outbox events due for a (re)send, oldest first, each claimed for `lease_s`
        seconds: a claim moves the event's next attempt past the lease only if no other
        sender moved it first, so two service processes (or replicas) never send the same
        event at once; an event whose sender died is due again when the lease ends."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            due = session.execute(
                select(OutboxRecord.event_id, OutboxRecord.next_attempt_at)
                .where(OutboxRecord.sent_at.is_(None), OutboxRecord.next_attempt_at <= now)
                .order_by(OutboxRecord.id)
                .limit(limit)
            ).all()
        claimed = []
        for event_id, seen in due:
            with self.engine.begin() as connection:
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
        with Session(self.engine) as session:
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

    def event_sent(self, event_id: str) -> None:
        """Mark an outbox event as delivered, counting every delivery (a second one would be
        a double send)."""
        with Session(self.engine) as session, session.begin():
            record = session.scalar(select(OutboxRecord).where(OutboxRecord.event_id == event_id))
            if record is None:
                return
            record.deliveries += 1
            if record.sent_at is None:
                record.sent_at = datetime.now(UTC)
                record.attempts += 1

    def release_events(self, event_ids: Sequence[str]) -> None:
        """Give claimed, unsent events back: due again now, for any sender."""
        with self.engine.begin() as connection:
            connection.execute(
                update(OutboxRecord)
                .where(OutboxRecord.event_id.in_(list(event_ids)), OutboxRecord.sent_at.is_(None))
                .values(next_attempt_at=datetime.now(UTC))
            )

    def event_failed(self, event_id: str, error: str) -> None:
        """Count a failed send and schedule the next one with exponential backoff."""
        with Session(self.engine) as session, session.begin():
            record = session.scalar(select(OutboxRecord).where(OutboxRecord.event_id == event_id))
            if record is None or record.sent_at is not None:
                return
            record.attempts += 1
            delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (record.attempts - 1))
            record.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            record.last_error = error[:2000]

    def outbox(self) -> list[dict]:
        """Every outbox event with its delivery state, oldest first."""
        with Session(self.engine) as session:
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

    @staticmethod
    def _emit(
        session: Session, model_id: str, source: str, content_hash: str, at: datetime
    ) -> None:
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

    @staticmethod
    def _current(
        session: Session,
        table: type[LabelRecord] | type[SpecRecord],
        ready: list[str],
        version: int,
    ) -> list:
        """The newest row per model (and spec kind) stamped at or below `version`."""
        rows = session.scalars(
            select(table)
            .where(table.model_id.in_(ready), table.hub_version <= version)
            .order_by(table.id)
        ).all()
        newest = {(row.model_id, getattr(row, "spec_kind", "")): row for row in rows}
        return list(newest.values())

    @staticmethod
    def _record(session: Session, model_id: str) -> ModelRecord:
        record = session.get(ModelRecord, model_id)
        if record is None:
            raise UnknownModelError(f"model {model_id!r} is not registered: register it first")
        return record

    def _set_members(
        self, session: Session, pipeline_id: str, members: Sequence[str], new: bool, now: datetime
    ) -> None:
        """Record the pipeline's members as they are now, replacing earlier ones, and clear
        its open flags (a registration is a retrained pipeline)."""
        if pipeline_id in members:
            raise RegistryError(f"pipeline {pipeline_id!r} cannot run itself")
        rows = []
        current = self._current_labels(session, list(members))
        for member_id in sorted(set(members)):
            record = session.get(ModelRecord, member_id)
            if record is None or record.status == "retired":
                raise RegistryError(
                    f"pipeline {pipeline_id!r} runs {member_id!r}, which the registry does not "
                    "hold or has retired: register its members first"
                )
            rows.append(
                PipelineMember(
                    pipeline_id=pipeline_id,
                    member_id=member_id,
                    member_hash=record.content_hash,
                    member_label_version=current.get(member_id),
                )
            )
        if not new:
            session.execute(delete(PipelineMember).where(PipelineMember.pipeline_id == pipeline_id))
            session.execute(
                update(PipelineFlag)
                .where(PipelineFlag.pipeline_id == pipeline_id, PipelineFlag.cleared_at.is_(None))
                .values(cleared_at=now)
            )
        session.add_all(rows)

    @staticmethod
    def _flag_dependents(session: Session, member_id: str, reason: str, now: datetime) -> None:
        """Flag every pipeline, retired ones aside, that runs `member_id`."""
        pipelines = session.scalars(
            select(PipelineMember.pipeline_id)
            .join(ModelRecord, ModelRecord.model_id == PipelineMember.pipeline_id)
            .where(PipelineMember.member_id == member_id, ModelRecord.status != "retired")
        ).all()
        session.add_all(
            PipelineFlag(pipeline_id=p, member_id=member_id, reason=reason[:2000], at=now)
            for p in pipelines
        )

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


def _engine(url: str, wait_s: float) -> Engine:
    """An engine whose statements wait at most `wait_s` for another writer's lock; SQLite in
    WAL mode, so that readers never wait for a writer."""
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_timeout=wait_s, connect_args={"timeout": wait_s})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _: object) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            cursor.close()

        return engine
    engine = create_engine(url, pool_timeout=wait_s)

    @event.listens_for(engine, "connect")
    def _postgres_lock_timeout(connection: Any, _: object) -> None:
        cursor = connection.cursor()
        cursor.execute(f"SET lock_timeout = {int(wait_s * 1000)}")
        cursor.close()

    return engine


def _lock_versions(session: Session) -> None:
    """Serialise the writers of hub versions, so versions are committed in their order (a
    reader that sees version v sees every row stamped at or below it). SQLite already allows
    one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE hub_versions IN EXCLUSIVE MODE"))


def _lineage(session: Session, model_id: str) -> dict:
    members = session.scalars(
        select(PipelineMember)
        .where(PipelineMember.pipeline_id == model_id)
        .order_by(PipelineMember.member_id)
    ).all()
    used_by = session.scalars(
        select(PipelineMember.pipeline_id)
        .where(PipelineMember.member_id == model_id)
        .order_by(PipelineMember.pipeline_id)
    ).all()
    flags = session.scalars(
        select(PipelineFlag)
        .where(PipelineFlag.pipeline_id == model_id, PipelineFlag.cleared_at.is_(None))
        .order_by(PipelineFlag.id)
    ).all()
    return {
        "members": [
            {
                "model_id": m.member_id,
                "content_hash": m.member_hash,
                "label_version": m.member_label_version,
            }
            for m in members
        ],
        "used_by": list(used_by),
        "flags": [
            {"member": f.member_id, "reason": f.reason, "at": f.at.isoformat()} for f in flags
        ],
    }


def _label_summary(table: bytes | None) -> dict | None:
    """Nodes and the mean of each metric of a stored label table."""
    if table is None:
        return None
    rows = table_from_bytes(table)
    means = rows.group_by("metric").agg(pl.col("value").mean()).sort("metric")
    return {"nodes": rows["node_id"].n_unique(), "mean": dict(means.iter_rows())}


def _tags(record: ModelRecord) -> list[str]:
    return json.loads(record.tags)


def _hub_model(record: ModelRecord, label_version: str | None) -> HubModel:
    return HubModel(
        name=record.model_id,
        source=record.source,
        kind=record.kind,
        content_hash=record.content_hash,
        status=record.status,
        license=record.license,
        tags=tuple(_tags(record)),
        parameters=record.parameters,
        class_names=tuple(json.loads(record.class_names)),
        label_version=label_version,
    )


def _drift(session: Session, model_id: str, table: pl.DataFrame) -> str | None:
    """The nodes a new label moves on against the model's current label (JSON), or None for
    a model's first label."""
    previous = session.scalar(
        select(LabelRecord.label_table)
        .where(LabelRecord.model_id == model_id, LabelRecord.label_table.is_not(None))
        .order_by(LabelRecord.id.desc())
        .limit(1)
    )
    if previous is None:
        return None
    return json.dumps(label_drift(table_from_bytes(previous), table).to_dicts())


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
        "parameters": record.parameters,
        "class_names": json.loads(record.class_names),
        "label_version": label_version,
    }
