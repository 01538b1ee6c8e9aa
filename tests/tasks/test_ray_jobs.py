import pytest

from hubscout.settings import Settings
from tasks.ray_jobs import gpus_per_job, map_on_ray, ray_session, retry_transient


def test_transient_errors_are_retried_and_others_raised_at_once():
    calls = []

    def flaky(fails: int, error: type[Exception]):
        def call():
            calls.append(error)
            if len(calls) <= fails:
                raise error("down")
            return "labeled"

        return call

    assert retry_transient(flaky(2, ConnectionError), delays_s=(0, 0, 0)) == "labeled"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(TimeoutError):
        retry_transient(flaky(4, TimeoutError), delays_s=(0, 0, 0))
    assert len(calls) == 4  # three retries, then the error
    calls.clear()
    with pytest.raises(ValueError):
        retry_transient(flaky(1, ValueError), delays_s=(0, 0, 0))
    assert len(calls) == 1


def _gpu_ids(_: int) -> list[int]:
    import ray

    return [int(i) for i in ray.get_gpu_ids()]


def test_jobs_ask_for_a_gpu_share_only_where_the_cluster_has_gpus():
    import ray

    settings = Settings(ray_gpus_per_job=0.5)
    with ray_session(settings, num_cpus=1):
        assert gpus_per_job(settings) == 0.0
    # a cluster that declares one GPU: two jobs share it, each sees GPU 0
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        with ray_session(settings, num_cpus=2):  # joins the Ray of this process
            share = gpus_per_job(settings)
            assert share == 0.5
            seen = []
            ids = map_on_ray(
                _gpu_ids, [0, 1], ["a", "b"], num_gpus=share, timeout_s=120,
                on_result=lambda index, result: seen.append((index, result)),
            )  # fmt: skip
        assert ids == [[0], [0]]
        assert sorted(seen) == [(0, [0]), (1, [0])]  # each job's result, as it finished
    finally:
        ray.shutdown()
