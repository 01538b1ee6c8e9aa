"""Lineage: a pipeline is registered with the models it runs (its members, each with the
weights and label version it was trained on). Retiring a member, publishing a new label
version of it or registering new weights for it flags every pipeline that runs it, in the
caller's transaction; a pipeline's flags are cleared when it is registered again."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from registry.errors import RegistryError
from registry.tables import ModelRecord, PipelineFlag, PipelineMember, current_labels


def set_members(
    session: Session, pipeline_id: str, members: Sequence[str], new: bool, now: datetime
) -> None:
    """Record the pipeline's members as they are now, replacing earlier ones, and clear
    its open flags (a registration is a retrained pipeline)."""
    if pipeline_id in members:
        raise RegistryError(f"pipeline {pipeline_id!r} cannot run itself")
    rows = []
    current = current_labels(session, list(members))
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


def flag_dependents(session: Session, member_id: str, reason: str, now: datetime) -> None:
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


def lineage(session: Session, model_id: str) -> dict:
    """A model's members (a pipeline's), the pipelines that run it and its open flags."""
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
