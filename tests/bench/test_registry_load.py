"""The registry load benchmark's smoke run: a tiny synthetic hub served and loaded end to end,
so that a change which breaks the benchmark (a schema the synthetic hub lacks, a limit it
trips) fails the tests instead of going unnoticed."""

import numpy as np
import polars as pl
import pytest

from bench.registry_load import LoadSize, main, synthetic_hub
from registry.store import RegistryStore

pytestmark = pytest.mark.slow

TINY = LoadSize(
    models=6, nodes=40, worker_counts=(1,), requests=24, new_requests=4, etag_requests=3, cli_runs=1
)


def test_synthetic_hub_has_the_worlds_node_columns_and_every_label(tmp_path) -> None:
    synthetic_hub(tmp_path, models=3, node_count=10)
    nodes = pl.read_parquet(tmp_path / "world" / "nodes.parquet")
    assert nodes.columns == [
        "node_id",
        "name",
        "description",
        "facet",
        "is_leaf",
        "synonyms",
        "things",
    ]
    assert nodes["name"][0] == "small bright red circle"
    store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        models = store.models()
        assert [m["model_id"] for m in models] == ["model-0000", "model-0001", "model-0002"]
        assert [m["label_version"] for m in models] == ["l0", "l1", "l2"]
    finally:
        store.close()


def test_smoke_run_serves_every_request_with_a_ranking() -> None:
    (result,) = main(TINY)
    assert result["workers"] == 1
    assert result["seen"]["requests"] == 24
    assert result["new"]["requests"] == 4
    assert sorted(result["top_models"]) == [f"model-{i:04d}" for i in range(6)]  # all ranked
    assert np.isfinite(result["seen"]["p99_ms"]) and result["cli_wall_s"] > 0
