"""Incremental labeling: the wall time of registering one model into a hub of M models.

For M = 4 and M = 32, a data dir holds a tiny world and a hub of M ready VLMs (their labels
published in the registry, as a hub labeled before); a tiny open_clip checkpoint is then
registered and `on_model_registered` processes it (label, transferability rows) and
publishes it. Each run has a data dir (and caches) of its own, and the two sizes alternate,
three times each after a warm-up of each, on one Prefect test server and one local Ray.
Target: the median time at M = 32 at most 1.3 times the one at M = 4.
"""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import ray
import torch
from prefect.testing.utilities import prefect_test_harness

from flows.on_model_registered import on_model_registered
from hubscout.data.store import WorldParams, build_world
from hubscout.models.open_clip_loader import CONFIG_DIR
from hubscout.selection.ranking import DEFAULT_METRIC
from hubscout.settings import Settings, apply_offline_defaults
from registry.publication import LabelPublication, Publication
from registry.sources import register_source
from registry.store import RegistryStore

HUB_SIZES = (4, 32)
REPEATS = 3
ARCH = "hs-vit-w64-p8"  # the tiny open_clip architecture of the tests
WORLD = {
    "probes_per_leaf": 10,
    "train_per_class": 10,
    "val_per_class": 5,
    "test_per_class": 20,
    "pool_size": 3000,
}


def hub_of(size: int, data: Path, world: Path, checkpoint: Path) -> Settings:
    """A data dir with the world, `size` ready VLMs and a copy of the checkpoint registered
    (not yet labeled) as new-clip."""
    (data / "world").symlink_to(world, target_is_directory=True)
    settings = Settings(data_dir=data)
    store = RegistryStore(settings.registry_database_url)
    nodes = pl.read_parquet(world / "nodes.parquet")["node_id"]
    rng = np.random.default_rng(size)
    labels = []
    for i in range(size):
        name = f"hub-{i:02d}"
        store.register(name, f"open_clip:{ARCH}@/hub/{name}.pt", "vlm", f"{i:064x}")
        table = pl.DataFrame(
            {
                "model_id": [name] * len(nodes),
                "node_id": nodes,
                "metric": [DEFAULT_METRIC] * len(nodes),
                "value": rng.uniform(0, 1, len(nodes)),
                "label_version": [f"l{i}"] * len(nodes),
            }
        )
        labels.append(LabelPublication(name, f"l{i}", "g", table))
    store.publish(Publication(f"a hub of {size}", labels=tuple(labels)))
    # under the data dir, the registry's default source root, which the worker re-checks
    copy = data / "models" / checkpoint.name
    copy.parent.mkdir()
    shutil.copyfile(checkpoint, copy)
    source = f"open_clip:{ARCH}@{copy}"
    register_source(store, "new-clip", source, settings.source_roots, settings.layout.hub_manifest)
    store.close()
    return settings


def main(hub_sizes: tuple[int, int] = HUB_SIZES, repeats: int = REPEATS) -> dict[int, float]:
    """Print the median seconds per hub size and their ratio; return the medians."""
    import os

    import open_clip

    apply_offline_defaults()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    data_dir_before = os.environ.get("HUBSCOUT_DATA_DIR")
    with tempfile.TemporaryDirectory() as folder, prefect_test_harness(server_startup_timeout=120):
        root = Path(folder)
        build_world(WorldParams(**WORLD), root / "world")
        open_clip.add_model_config(CONFIG_DIR)
        torch.manual_seed(0)
        model = open_clip.create_model(ARCH, pretrained=None)
        checkpoint = root / "models" / "new-clip.pt"
        checkpoint.parent.mkdir()
        torch.save(model.state_dict(), checkpoint)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        seconds: dict[int, list[float]] = {size: [] for size in hub_sizes}
        try:
            for repeat in range(-1, repeats):  # repeat -1 warms up (imports, Ray workers)
                for size in hub_sizes:
                    data = root / f"hub-{size}-{repeat}"
                    data.mkdir()
                    settings = hub_of(size, data, root / "world", checkpoint)
                    os.environ["HUBSCOUT_DATA_DIR"] = str(settings.data_dir)
                    start = time.perf_counter()
                    summary = on_model_registered("new-clip")
                    assert summary["processed"] == ["new-clip"], summary
                    if repeat >= 0:
                        seconds[size].append(time.perf_counter() - start)
        finally:
            ray.shutdown()
            if data_dir_before is None:  # the caller's data dir, as it was
                os.environ.pop("HUBSCOUT_DATA_DIR", None)
            else:
                os.environ["HUBSCOUT_DATA_DIR"] = data_dir_before
    medians = {size: statistics.median(times) for size, times in seconds.items()}
    for size, times in seconds.items():
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"hub of {size:2d} models: register one, labeled in {medians[size]:.1f} s ({runs})")
    ratio = medians[hub_sizes[1]] / medians[hub_sizes[0]]
    print(f"ratio M={hub_sizes[1]} / M={hub_sizes[0]}: {ratio:.2f} (target at most 1.3)")
    return medians


if __name__ == "__main__":
    main()
