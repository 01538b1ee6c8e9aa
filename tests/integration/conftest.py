"""Fixtures of the integration tests: a registry store on each database it supports: SQLite
and the machine's PostgreSQL (127.0.0.1:5432, database test, a schema per test). The registry
service fixture (a real uvicorn) lives in tests/conftest.py, shared with the flow tests."""

import uuid

import pytest
import sqlalchemy

from registry.store import RegistryStore
from tests.conftest import POSTGRES


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
        yield store
        store.close()
        return
    schema = f"hubscout_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    store = RegistryStore(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    yield store
    store.close()
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
