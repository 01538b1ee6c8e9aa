"""Fixtures of the integration tests: a registry store on each database it supports: SQLite
and the machine's PostgreSQL (127.0.0.1:5432, database test, a schema per test). The registry
service fixture (a real uvicorn) lives in tests/conftest.py, shared with the flow tests."""

import uuid

import polars as pl
import pytest
import sqlalchemy

from hubscout.labeling.drift import DRIFT_METRIC
from registry.publication import LabelPublication, Publication
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


def label(model_id, version, values=(0.5,)):
    """A LabelPublication of `values` on nodes n0, n1 ... (the metric drift is measured on)."""
    table = pl.DataFrame(
        {
            "model_id": [model_id] * len(values),
            "node_id": [f"n{i}" for i in range(len(values))],
            "metric": [DRIFT_METRIC] * len(values),
            "value": list(values),
            "label_version": [version] * len(values),
        }
    )
    return LabelPublication(model_id, version, "g", table)


def publish_label(store, model_id, version):
    """Publish one label version; True when it raised the hub version."""
    before = store.hub_version()
    return (
        store.publish(Publication(f"{model_id} {version}", labels=(label(model_id, version),)))
        > before
    )
