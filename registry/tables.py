"""The registry's tables (SQLAlchemy models; registry/migrations holds their history), the
engine every store opens, and the queries the store's parts share."""

from datetime import datetime
from typing import Any

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
    event,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


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


class TunedRecord(Base):
    """Parameters a stage tuned (hubscout.tuning); the newest of each kind is current."""

    __tablename__ = "tuned_parameters"
    __table_args__ = (Index("tuned_parameters_kind", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    version: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
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


def open_engine(url: str, wait_s: float) -> Engine:
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


def lock_versions(session: Session) -> None:
    """Serialise the writers of hub versions, so versions are committed in their order (a
    reader that sees version v sees every row stamped at or below it). SQLite already allows
    one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE hub_versions IN EXCLUSIVE MODE"))


def current_labels(session: Session, model_ids: list[str]) -> dict[str, str]:
    """model id -> its newest label version, for those of `model_ids` that have one."""
    labels = session.scalars(
        select(LabelRecord).where(LabelRecord.model_id.in_(model_ids)).order_by(LabelRecord.id)
    ).all()
    return {label.model_id: label.label_version for label in labels}
