"""A saved reuse pipeline against calling its models directly.

Loads the starter hub's digits pipeline (DVC stage pathway_benchmark; `make demo` builds it)
and times, on 2048 test images: the pipeline's predict_proba (router, the k members each
image is routed to, heads, aggregation), the same members run directly on the same rows
(what a hand-written composition costs), and every member on every image (the uniform
ensemble's cost). Medians of 3 runs, measured in the same process.
"""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hubscout.data.store import World
from hubscout.models import load_model
from hubscout.reuse.pipeline import ReusePipeline
from hubscout.settings import Settings

TASK = "digits"
IMAGES = 2048


def _median_seconds(run: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(
    folder: Path | None = None, world_dir: Path | None = None, task: str = TASK, count: int = IMAGES
) -> dict[str, float] | None:
    """Print seconds and ratios for the pipeline in `folder` (default: the data dir's digits
    pipeline) on `count` test images of `task`; return the seconds, or None without one."""
    settings = Settings()
    folder = folder or settings.layout.pipelines / f"{task}-pathway-k2"
    world_dir = world_dir or settings.layout.world
    if not (folder / "pipeline.json").is_file():
        print(f"skipped: no pipeline at {folder} (run `dvc repro pathway_benchmark`)")
        return None
    pipeline = load_model(f"pipeline:{folder}", manifest=settings.layout.hub_manifest)
    assert isinstance(pipeline, ReusePipeline)
    test = World(world_dir).split(task, "test").images
    images = np.resize(test, (count, *test.shape[1:]))
    _, gates = pipeline.route(images)
    routed = [np.nonzero(gates[:, m] > 0)[0] for m in range(gates.shape[1])]

    def direct() -> None:
        for member, rows in zip(pipeline.members, routed, strict=True):
            if len(rows):
                member.image_features(images[rows])

    def every_member() -> None:
        for member in pipeline.members:
            member.image_features(images)

    pipeline.predict_proba(images[:64])  # warm-up
    through = _median_seconds(lambda: pipeline.predict_proba(images))
    alone = _median_seconds(direct)
    everything = _median_seconds(every_member)
    k, members = pipeline.manifest.k, len(pipeline.members)
    print(f"pipeline {task} (k={k} of {members} members), {count} images")
    print(f"pipeline predict_proba: {through:.3f} s")
    print(f"its routed members called directly: {alone:.3f} s  (overhead {through / alone:.2f}x)")
    ratio = everything / through
    print(f"every member on every image: {everything:.3f} s  ({ratio:.2f}x the pipeline)")
    return {"pipeline": through, "routed_members": alone, "every_member": everything}
