"""Schema migrations of the registry database (Alembic), run when a store opens.

`upgrade(engine)` brings any registry database to the newest revision in one transaction
(on PostgreSQL; SQLite commits DDL as it goes). A database made before migrations existed
(its tables present, no alembic_version) is stamped at the first revision, whose schema it
already has, and then upgraded.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"


def upgrade(engine: Engine) -> None:
    """Migrate the database behind `engine` to the newest revision."""
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "models" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before any migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
