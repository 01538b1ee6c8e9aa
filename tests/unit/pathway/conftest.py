import numpy as np
import pytest

from hubscout.pathway.benchmark import TaskData


def routed_split(rng: np.random.Generator, n: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Four classes; model "low" tells classes 0 and 1 apart and nothing else, "high" tells
    2 and 3 apart, "noise" nothing; the router's input shows which half a class is in. So
    one model per input suffices, if it is the right one: any single model is at most 3/4
    right (sure on its half, a coin flip on the other)."""
    labels = rng.integers(0, 4, n)
    router = rng.normal(0, 0.05, (n, 192)).astype(np.float32)
    router[:, 0] += labels >= 2
    low = rng.normal(0, 1, (n, 4))
    low[:, 0] += np.where(labels == 1, 4.0, 0.0) - np.where(labels == 0, 4.0, 0.0)
    high = rng.normal(0, 1, (n, 4))
    high[:, 0] += np.where(labels == 3, 4.0, 0.0) - np.where(labels == 2, 4.0, 0.0)
    return {"low": low, "high": high, "noise": rng.normal(0, 1, (n, 4))}, labels, router


@pytest.fixture(scope="module")
def routed_task() -> TaskData:
    rng = np.random.default_rng(0)
    splits = {s: routed_split(rng, n) for s, n in (("train", 300), ("val", 150), ("test", 400))}
    return TaskData(
        {m: {s: splits[s][0][m] for s in splits} for m in ("low", "high", "noise")},
        {s: splits[s][1] for s in splits},
        {s: splits[s][2] for s in splits},
    )
