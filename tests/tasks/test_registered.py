"""The per-model job's pieces that need no hub: which metrics score a model alone, and an
empty batch that starts no Ray. The jobs themselves run in tests/flows/test_on_model_registered.py
and tests/flows/test_process_registered.py."""

from tasks.registered import per_model_metrics, process_registered


def test_pool_relative_metrics_are_left_to_the_benchmark():
    assert per_model_metrics(["logme", "etran", "sfda", "ncti", "knn"]) == ("logme", "sfda", "knn")


def test_an_empty_batch_returns_nothing_without_starting_ray():
    import ray

    assert process_registered.fn([]) == [] and not ray.is_initialized()
