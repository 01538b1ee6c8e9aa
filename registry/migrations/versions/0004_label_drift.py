"""Label drift: each label version keeps the nodes it moved on against the model's previous
label version.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the drift (a JSON list of node moves) to label versions."""
    with op.batch_alter_table("label_versions") as batch:
        batch.add_column(sa.Column("drift", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the drift column."""
    with op.batch_alter_table("label_versions") as batch:
        batch.drop_column("drift")
