"""Pipeline lineage: which registered models each pipeline runs (with the weights and label
version it was trained on), and the flags raised on a pipeline when one of them is retired,
re-labeled or gets new weights.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the member and flag tables."""
    op.create_table(
        "pipeline_members",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("member_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("member_hash", sa.String(64), nullable=False),
        sa.Column("member_label_version", sa.String(64), nullable=True),
        sa.UniqueConstraint("pipeline_id", "member_id"),
    )
    op.create_index("pipeline_members_member", "pipeline_members", ["member_id"])
    op.create_table(
        "pipeline_flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pipeline_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("member_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("pipeline_flags_pipeline", "pipeline_flags", ["pipeline_id"])


def downgrade() -> None:
    """Drop the lineage tables."""
    op.drop_table("pipeline_flags")
    op.drop_table("pipeline_members")
