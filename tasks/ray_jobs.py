"""Running core functions as Ray tasks: local Ray on demand, or the cluster at RAY_ADDRESS.

On 2 CPUs Ray can hang silently when actors hold the cores, so jobs are plain tasks with an
explicit CPU/GPU request, and every wait has a timeout. Per-model jobs ask for a share of a GPU
where the cluster has GPUs, and retry transient errors with backoff.
"""

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from hubscout.settings import Settings
from tasks.progress import Steps

T = TypeVar("T")


@contextmanager
def ray_session(settings: Settings, num_cpus: int) -> Iterator[None]:
    """Join the cluster at RAY_ADDRESS, or start a local Ray with `num_cpus` CPUs; stop it after.

    A Ray already connected in this process (a worker's, a test session's) is used as it is."""
    import ray

    if ray.is_initialized():
        yield
        return
    if settings.ray_address:
        ray.init(address=settings.ray_address, log_to_driver=False, logging_level="ERROR")
    else:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            object_store_memory=256 * 1024**2,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
        )
    try:
        yield
    finally:
        ray.shutdown()


TRANSIENT_ERRORS = (ConnectionError, TimeoutError)  # a checkpoint on a network mount, a cluster
RETRY_DELAYS_S = (2.0, 8.0, 30.0)  # 40 s in all before a model fails (not tuned: no flaky mount)


def retry_transient(call: Callable[[], T], delays_s: Sequence[float] = RETRY_DELAYS_S) -> T:
    """`call()`, again after each delay while it raises a transient error (connection,
    timeout); any other error, or the last transient one, is raised."""
    for delay in delays_s:
        try:
            return call()
        except TRANSIENT_ERRORS:
            time.sleep(delay)
    return call()


def gpus_per_job(settings: Settings) -> float:
    """The GPU share a per-model job asks Ray for: HUBSCOUT_RAY_GPUS_PER_JOB when the cluster
    (inside a `ray_session`) has GPUs, else 0 (CPU jobs)."""
    import ray

    return settings.ray_gpus_per_job if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def _call_with_threads(function: Callable, threads: int, argument: Any) -> Any:
    import torch

    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    return function(argument)


def map_on_ray(
    function: Callable[[Any], Any],
    arguments: Sequence[Any],
    names: Sequence[str],
    num_cpus: int = 1,
    num_gpus: float = 0,
    timeout_s: float = 3600,
    what: str = "done",
    weights: Sequence[float] | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """`function(a)` for every argument as Ray tasks (inside a `ray_session`), in input order,
    with a progress line per finished job ('3/22 trained', ETA from the jobs' `weights`) and
    a heartbeat while they run; `on_result(index, result)` as each job finishes. A
    TimeoutError when no job finishes for `timeout_s`."""
    import ray

    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(_call_with_threads)
    pending = {remote.remote(function, num_cpus, a): i for i, a in enumerate(arguments)}
    results: list[Any] = [None] * len(arguments)
    with Steps(what, names, weights) as steps:
        last_finished = time.monotonic()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=steps.heartbeat_s)
            if not ready:
                if time.monotonic() - last_finished > timeout_s:
                    waiting = ", ".join(names[i] for i in pending.values())
                    raise TimeoutError(
                        f"no Ray job finished in {timeout_s:.0f} s; waiting: {waiting}"
                    )
                continue
            index = pending.pop(ready[0])
            results[index] = ray.get(ready[0])
            last_finished = time.monotonic()
            if on_result is not None:
                on_result(index, results[index])
            steps.done(index)
    return results
