"""The registry's SQL store: which models the hub holds and which label version is current.

SQLite in the embedded profile, PostgreSQL in production (`HUBSCOUT_DATABASE_URL`). Every
write is one transaction: a failed write leaves the previous state as it was. Opening a store
migrates its database to the newest schema (registry/migrations, Alembic).
"""

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from hubscout.errors import HubscoutError
from registry.migrate import upgrade

KINDS = ("vlm", "classifier", "generator")


class RegistryError(HubscoutError):
    """A registry request that cannot be carried out."""


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


class RegistryStore:
    """Models and label versions, behind a SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        try:
            self.engine = create_engine(url)
            upgrade(self.engine)
        except SQLAlchemyError as error:
            raise RegistryError(f"cannot open the registry database {url}: {error}") from error

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def register(self, model_id: str, source: str, kind: str, content_hash: str) -> None:
        """Add a model, or update its source and hash (its status goes back to registered
        when the weights changed)."""
        if kind not in KINDS:
            raise RegistryError(f"unknown model kind {kind!r}: use one of {', '.join(KINDS)}")
        if not model_id or len(model_id) > 200:
            raise RegistryError("a model id must have 1 to 200 characters")
        with Session(self.engine) as session, session.begin():
            record = session.get(ModelRecord, model_id)
            if record is None:
                session.add(
                    ModelRecord(
                        model_id=model_id,
                        source=source,
                        kind=kind,
                        content_hash=content_hash,
                        status="registered",
                        registered_at=datetime.now(UTC),
                    )
                )
            elif record.content_hash != content_hash or record.source != source:
                record.source, record.content_hash, record.status = (
                    source,
                    content_hash,
                    "registered",
                )

    def publish_label(self, model_id: str, label_version: str, graph_hash: str, rows: int) -> bool:
        """Record a label version of a registered model; False when it was already published."""
        with Session(self.engine) as session, session.begin():
            record = session.get(ModelRecord, model_id)
            if record is None:
                raise RegistryError(f"model {model_id!r} is not registered: register it first")
            known = session.scalar(
                select(LabelRecord).where(
                    LabelRecord.model_id == model_id, LabelRecord.label_version == label_version
                )
            )
            record.status = "labeled"
            if known is not None:
                return False
            session.add(
                LabelRecord(
                    model_id=model_id,
                    label_version=label_version,
                    graph_hash=graph_hash,
                    rows=rows,
                    published_at=datetime.now(UTC),
                )
            )
            return True

    def models(self) -> list[dict]:
        """Every model with its status and current label version (None if unlabeled)."""
        with Session(self.engine) as session:
            records = session.scalars(select(ModelRecord).order_by(ModelRecord.model_id)).all()
            labels = session.scalars(select(LabelRecord).order_by(LabelRecord.id)).all()
            current = {label.model_id: label.label_version for label in labels}
            return [
                {
                    "model_id": r.model_id,
                    "source": r.source,
                    "kind": r.kind,
                    "content_hash": r.content_hash,
                    "status": r.status,
                    "label_version": current.get(r.model_id),
                }
                for r in records
            ]
