"""The model lifecycle (status events, reasons, license and tags) and hub versions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the models' license, tags and status reason, the status events and hub versions;
    the former status "labeled" becomes "ready"."""
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("license", sa.String(200), nullable=False, server_default="unknown")
        )
        batch.add_column(sa.Column("tags", sa.String(2000), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("status_reason", sa.String(2000), nullable=True))
    op.execute("UPDATE models SET status = 'ready' WHERE status = 'labeled'")
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hub_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the hub versions, the status events and the new model columns."""
    op.drop_table("hub_versions")
    op.drop_table("status_events")
    op.execute("UPDATE models SET status = 'labeled' WHERE status = 'ready'")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("status_reason")
        batch.drop_column("tags")
        batch.drop_column("license")
