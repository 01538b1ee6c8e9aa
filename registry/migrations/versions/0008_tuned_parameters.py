"""Tuned parameters: what a benchmark stage chose on its tuning data (encoders, PMI's
temperatures, the open-set calibrations, the accuracy model), one row per kind and version.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tuned parameters' table."""
    op.create_table(
        "tuned_parameters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("hub_version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("tuned_parameters_kind", "tuned_parameters", ["kind"])


def downgrade() -> None:
    """Drop the tuned parameters."""
    op.drop_table("tuned_parameters")
