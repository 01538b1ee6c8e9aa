"""Everything a publish carries (label tables, specifications, benchmark summaries, each
stamped with the hub version it belongs to), model card metadata and the event outbox.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add card metadata to models, a hub version and the table to label versions, and the
    specifications, benchmarks and outbox tables."""
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("parameters", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("class_names", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("label_versions") as batch:
        batch.add_column(sa.Column("hub_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("label_table", sa.LargeBinary, nullable=True))
    op.create_table(
        "specifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("spec_kind", sa.String(20), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("encoder", sa.String(200), nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("hub_version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("model_id", "spec_kind", "version"),
    )
    op.create_table(
        "benchmarks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("hub_version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
    )
    op.create_index("outbox_pending", "outbox", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    """Drop the outbox, benchmarks and specifications and the added columns."""
    op.drop_index("outbox_pending", "outbox")
    op.drop_table("outbox")
    op.drop_table("benchmarks")
    op.drop_table("specifications")
    with op.batch_alter_table("label_versions") as batch:
        batch.drop_column("label_table")
        batch.drop_column("hub_version")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("class_names")
        batch.drop_column("parameters")
