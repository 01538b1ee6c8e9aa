"""Registry schema migrations on SQLite and PostgreSQL."""

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from registry.migrate import current_revision
from registry.store import Base, RegistryStore


def test_opening_a_store_migrates_to_a_schema_that_matches_the_models(store):
    assert current_revision(store.engine) == "0001"
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_database_made_before_migrations_is_stamped_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sqlalchemy.create_engine(url)
    Base.metadata.create_all(engine)  # how stores made their schema before migrations
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO models VALUES ('vlm-a', 'starter:vlm-a', 'vlm', 'h1', 'labeled', "
                "'2026-11-01 00:00:00')"
            )
        )
    engine.dispose()
    store = RegistryStore(url)
    assert current_revision(store.engine) == "0001"
    assert [m["model_id"] for m in store.models()] == ["vlm-a"]
    store.close()
    reopened = RegistryStore(url)  # a second open finds nothing to do
    assert current_revision(reopened.engine) == "0001" and len(reopened.models()) == 1
    reopened.close()
