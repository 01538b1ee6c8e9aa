"""Alembic environment of the registry: migrations run on the connection that
`registry.migrate.upgrade` passes in (no alembic.ini, no URL of their own)."""

from alembic import context

from registry.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
