"""The incremental-labeling benchmark's smoke run: one model registered into two tiny hubs
and processed by the event's flow on a Prefect test server and a local Ray."""

import os

import pytest

from bench.incremental import main

pytestmark = pytest.mark.slow


def test_smoke_run_labels_the_new_model_in_each_hub_and_restores_the_data_dir(monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", "/srv/the-callers-data")
    medians = main(hub_sizes=(1, 2), repeats=1)
    assert sorted(medians) == [1, 2] and all(seconds > 0 for seconds in medians.values())
    assert os.environ["HUBSCOUT_DATA_DIR"] == "/srv/the-callers-data"
