"""The registry's SQL store: which models the hub holds, their lifecycle and which label
version is current, what was published for them, and the hub version every answer is
computed from. Its tables are in registry/tables.py, the pipelines' lineage in
registry/lineage.py and the registrations' event outbox in registry/outbox.py.

SQLite in the embedded profile, PostgreSQL in production (`HUBSCOUT_DATABASE_URL`). Every
write is one transaction: a failed write leaves the previous state as it was. Opening a store
migrates its database to the newest schema (registry/migrations, Alembic).

Lifecycle of a model: registered -> labeling -> ready, or failed with its reason; retired
keeps its history but leaves every selection. Every status change is kept as an event. Each
publish that brings something new and each retire raises the hub version by one.

A publish is atomic for readers without relying on isolation levels: every published row is
stamped with the hub version its publish created, in the same transaction, and a snapshot
(`hub()`) reads the current version first and then only rows stamped at or below it. A
registration writes its outbox event in the same transaction as the model row.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from hubscout.hub import LABEL_COLUMNS, Hub, HubEntry
from hubscout.labeling.drift import label_drift
from hubscout.tuning import Tuned, parse_tuned
from registry.errors import RegistryConflictError, RegistryError, UnknownModelError
from registry.lineage import flag_dependents, lineage, set_members
from registry.migrate import upgrade
from registry.outbox import Outbox, emit_registered
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
from registry.tables import (
    Base,
    BenchmarkRecord,
    HubVersion,
    LabelRecord,
    ModelRecord,
    ModelRowsRecord,
    PipelineFlag,
    SpecRecord,
    StatusEvent,
    TunedRecord,
    current_labels,
    lock_versions,
    open_engine,
)

# How long a statement waits for a lock another writer holds before it fails (503 in the
# service): SQLite's busy timeout, PostgreSQL's lock_timeout; the pool waits as long.
DATABASE_WAIT_SECONDS = 5.0

KINDS = ("vlm", "classifier", "generator", "pipeline")
STATUSES = ("registered", "labeling", "ready", "failed", "retired")


class RegistryStore:
    """Models, their lifecycle, what was published for them and the hub version."""

    def __init__(self, url: str, wait_s: float = DATABASE_WAIT_SECONDS) -> None:
        try:
            self.engine = open_engine(url, wait_s)
            self.outbox = Outbox(self.engine)
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
                    set_members(session, model_id, members, True, now)
                session.add(StatusEvent(model_id=model_id, status="registered", at=now))
                emit_registered(session, model_id, source, content_hash, now)
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
                set_members(session, model_id, members, False, now)
            if record.content_hash != content_hash:
                flag_dependents(
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
            emit_registered(session, model_id, source, content_hash, now)
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
        new version when it brings a label version, specification, benchmark summary or
        tuned parameters the registry does not hold (the models it labels or specifies become
        ready), else the current version unchanged."""
        unknown = {*publication.benchmarks, *(r.benchmark for r in publication.model_rows)}
        unknown -= set(BENCHMARKS)
        if unknown or any(spec.spec_kind not in SPEC_KINDS for spec in publication.specs):
            raise RegistryError(
                f"a publication holds benchmarks of {', '.join(BENCHMARKS)} and specifications "
                f"of kinds {', '.join(SPEC_KINDS)}; got {sorted(unknown) or 'another spec kind'}"
            )
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            lock_versions(session)
            version = int(session.scalar(select(func.max(HubVersion.version))) or 0)
            new_rows: list[
                LabelRecord | SpecRecord | BenchmarkRecord | ModelRowsRecord | TunedRecord
            ] = []
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
                    previous = current_labels(session, [label.model_id]).get(label.model_id)
                    if previous is not None:
                        flag_dependents(
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
            for tuned in publication.tuned:
                current = session.scalar(
                    select(TunedRecord.version)
                    .where(TunedRecord.kind == tuned.kind)
                    .order_by(TunedRecord.id.desc())
                    .limit(1)
                )
                if current != tuned.version:
                    new_rows.append(
                        TunedRecord(
                            kind=tuned.kind,
                            version=tuned.version,
                            document=tuned.model_dump_json(),
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
            lock_versions(session)
            record = self._record(session, model_id)
            if record.status == "retired":
                return False
            self._set_status(session, record, "retired", None, now)
            flag_dependents(session, model_id, f"{model_id} was retired", now)
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
            tuned = session.scalars(
                select(TunedRecord)
                .where(TunedRecord.hub_version <= version)
                .order_by(TunedRecord.id)
            ).all()
            encoders = sorted({s.encoder for s in specs if s.spec_kind == "generator"})
            rkme_encoders = sorted({s.encoder for s in specs if s.spec_kind == "rkme"})
            current = {label.model_id: label.label_version for label in labels}
            return Hub(
                version=version,
                models={r.model_id: _hub_entry(r, current.get(r.model_id)) for r in records},
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
                tuned=_current_tuned(tuned),
            )

    def tuned(self) -> list[dict]:
        """The current tuned parameters of each kind (by kind), each with its version and the
        hub version it was published at."""
        with Session(self.engine) as session:
            records = session.scalars(select(TunedRecord).order_by(TunedRecord.id)).all()
        current = {record.kind: record for record in records}
        return [
            {
                "kind": kind,
                "version": record.version,
                "hub_version": record.hub_version,
                "values": json.loads(record.document),
            }
            for kind, record in sorted(current.items())
        ]

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
            current = current_labels(session, [r.model_id for r in records])
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
                | lineage(session, model_id)
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

    @staticmethod
    def _set_status(
        session: Session, record: ModelRecord, status: str, reason: str | None, at: datetime
    ) -> None:
        record.status, record.status_reason = status, reason
        session.add(StatusEvent(model_id=record.model_id, status=status, reason=reason, at=at))


def _label_summary(table: bytes | None) -> dict | None:
    """Nodes and the mean of each metric of a stored label table."""
    if table is None:
        return None
    rows = table_from_bytes(table)
    means = rows.group_by("metric").agg(pl.col("value").mean()).sort("metric")
    return {"nodes": rows["node_id"].n_unique(), "mean": dict(means.iter_rows())}


def _tags(record: ModelRecord) -> list[str]:
    return json.loads(record.tags)


def _hub_entry(record: ModelRecord, label_version: str | None) -> HubEntry:
    return HubEntry(
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


def _current_tuned(records: Sequence[TunedRecord]) -> dict[str, Tuned]:
    """The newest tuned parameters of each kind among `records` (oldest first)."""
    documents = [json.loads(record.document) for record in records]
    return {tuned.kind: tuned for tuned in parse_tuned(documents, "the registry")}
