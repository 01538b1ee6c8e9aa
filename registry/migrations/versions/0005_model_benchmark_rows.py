"""Benchmark rows of one model: what a flow measured for a model registered after the
benchmark ran (its transferability scores on the benchmark's tasks), versioned per model.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the table of per-model benchmark rows."""
    op.create_table(
        "model_benchmark_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("benchmark", sa.String(50), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.Text, nullable=False),
        sa.Column("hub_version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("model_id", "benchmark", "digest"),
    )


def downgrade() -> None:
    """Drop the table of per-model benchmark rows."""
    op.drop_table("model_benchmark_rows")
