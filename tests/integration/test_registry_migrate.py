"""Registry schema migrations on SQLite and PostgreSQL."""

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from registry.migrate import current_revision
from registry.store import RegistryStore
from registry.tables import Base


def test_opening_a_store_migrates_to_a_schema_that_matches_the_models(store):
    assert current_revision(store.engine) == "0008"
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


OLD_SCHEMA = (  # what stores created before migrations existed (create_all, 0001's schema)
    "CREATE TABLE models (model_id VARCHAR(200) PRIMARY KEY, source VARCHAR(2000) NOT NULL, "
    "kind VARCHAR(20) NOT NULL, content_hash VARCHAR(64) NOT NULL, status VARCHAR(20) NOT NULL, "
    "registered_at DATETIME NOT NULL)",
    "CREATE TABLE label_versions (id INTEGER PRIMARY KEY, model_id VARCHAR(200) NOT NULL "
    "REFERENCES models (model_id), label_version VARCHAR(64) NOT NULL, graph_hash VARCHAR(64) "
    "NOT NULL, rows INTEGER NOT NULL, published_at DATETIME NOT NULL, "
    "UNIQUE (model_id, label_version))",
    "INSERT INTO models VALUES ('vlm-a', 'starter:vlm-a', 'vlm', 'h1', 'labeled', "
    "'2026-11-01 00:00:00')",
    "INSERT INTO label_versions VALUES (1, 'vlm-a', 'v1', 'g', 10, '2026-11-01 00:00:00')",
)


def test_a_database_made_before_migrations_is_stamped_migrated_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        for statement in OLD_SCHEMA:
            connection.execute(sqlalchemy.text(statement))
    engine.dispose()
    store = RegistryStore(url)
    assert current_revision(store.engine) == "0008"
    [model] = store.models()
    assert (model["model_id"], model["status"], model["label_version"]) == ("vlm-a", "ready", "v1")
    assert (model["license"], model["tags"]) == ("unknown", [])
    hub = store.hub()  # the old label has no stored table: the model is ready, unlabeled
    assert hub.version == 0 and hub.labels.is_empty() and hub.models["vlm-a"].status == "ready"
    store.close()
    reopened = RegistryStore(url)  # a second open finds nothing to do
    assert current_revision(reopened.engine) == "0008" and len(reopened.models()) == 1
    reopened.close()
