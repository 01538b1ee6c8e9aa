"""The feature-cache benchmark's smoke run: a cold pass, a cache hit and small batches."""

from bench.features import main


def test_smoke_run_times_a_cold_pass_a_cache_hit_and_small_batches():
    seconds = main(count=96)
    assert sorted(seconds) == ["batch_32", "cold", "hit"]
    assert all(value > 0 for value in seconds.values())
    assert seconds["hit"] < seconds["cold"]  # a hit reads one file instead of running a model
