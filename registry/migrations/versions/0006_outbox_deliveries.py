"""Outbox deliveries: how many times an event was delivered (1 when exactly once), so that a
double send by two replicas would show.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the delivery count to outbox events (sent events so far: once)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE outbox SET deliveries = 1 WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    """Drop the delivery count."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("deliveries")
