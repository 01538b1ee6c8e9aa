"""The first schema: models and the label versions published for them.

Revision ID: 0001
Revises: none
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the models and label_versions tables."""
    op.create_table(
        "models",
        sa.Column("model_id", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(2000), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "label_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(200), sa.ForeignKey("models.model_id"), nullable=False),
        sa.Column("label_version", sa.String(64), nullable=False),
        sa.Column("graph_hash", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("model_id", "label_version"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("label_versions")
    op.drop_table("models")
