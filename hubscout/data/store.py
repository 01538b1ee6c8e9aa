"""Building the world's files and reading them back.

Layout of a world folder (all Parquet/NPZ/JSON, nothing pickled):

| file | content |
|---|---|
| nodes.parquet, edges.parquet | the concept graph |
| probes.npz, probe_scenes.parquet | probe images of the leaves and their scenes |
| probe_index.parquet | node_id, image_index, direct (False: pooled from a descendant) |
| tasks.parquet, task_classes.parquet | task cards and their classes |
| tasks/<task>.npz | {train,val,test}_{images,labels} |
| task_images.parquet | task, split, label, image_hash (for validation) |
| pool.npz, pool_scenes.parquet | the training pool the starter hub is trained on |
| world.json | parameters and counts |
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from hubscout.data.graph import build_graph, descendant_leaves, edges_frame, leaves, nodes_frame
from hubscout.data.tasks import TASKS, TargetTask
from hubscout.data.world import render_all, sample_scenes, scene_records, stable_seed
from hubscout.errors import DatasetError

SPLITS = ("train", "val", "test")


class WorldParams(BaseModel):
    """The `world` section of params.yaml."""

    image_size: int = Field(default=32, ge=16, le=128)
    seed: int = 0
    probes_per_leaf: int = Field(default=30, ge=1)
    train_per_class: int = Field(default=40, ge=1)
    val_per_class: int = Field(default=20, ge=1)
    test_per_class: int = Field(default=50, ge=1)
    pool_size: int = Field(default=24000, ge=10)

    def per_class(self, split: str) -> int:
        """Images per class in `split`."""
        return {
            "train": self.train_per_class,
            "val": self.val_per_class,
            "test": self.test_per_class,
        }[split]


def image_hashes(images: np.ndarray) -> list[str]:
    """A short content hash per image."""
    return [hashlib.sha256(image.tobytes()).hexdigest()[:20] for image in images]


def build_world(params: WorldParams, out: Path) -> dict:
    """Render the whole world into `out` and return its summary (also written to world.json)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "tasks").mkdir(exist_ok=True)
    nodes = build_graph()
    nodes_frame(nodes).write_parquet(out / "nodes.parquet")
    edges_frame(nodes).write_parquet(out / "edges.parquet")

    probe_scenes, probe_nodes = [], []
    for leaf in leaves(nodes):
        rng = np.random.default_rng(stable_seed(params.seed, "probe", leaf.node_id))
        probe_scenes += sample_scenes(rng, params.probes_per_leaf, leaf.constraints)
        probe_nodes += [leaf.node_id] * params.probes_per_leaf
    probe_images = render_all(probe_scenes, params.image_size)
    np.savez(out / "probes.npz", images=probe_images)
    pl.DataFrame(scene_records(probe_scenes)).with_columns(
        pl.Series("node_id", probe_nodes), pl.Series("image_hash", image_hashes(probe_images))
    ).with_row_index("image_index").write_parquet(out / "probe_scenes.parquet")
    _probe_index(nodes, probe_nodes).write_parquet(out / "probe_index.parquet")

    task_rows, class_rows, image_rows = [], [], []
    for task in TASKS:
        task_rows.append(
            {
                "task": task.name,
                "domain": task.domain,
                "description": task.description,
                "held_out": task.held_out,
                "n_classes": len(task.classes),
            }
        )
        for index, task_class in enumerate(task.classes):
            class_rows.append(
                {
                    "task": task.name,
                    "class_index": index,
                    "class_name": task_class.name,
                    "description": task_class.description,
                    "nodes": list(task_class.nodes),
                }
            )
        arrays = {}
        for split in SPLITS:
            images, labels = _task_split(task, split, params)
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
            image_rows += [
                {"task": task.name, "split": split, "label": int(label), "image_hash": digest}
                for label, digest in zip(labels, image_hashes(images), strict=True)
            ]
        np.savez(out / "tasks" / f"{task.name}.npz", **arrays)
    pl.DataFrame(task_rows).write_parquet(out / "tasks.parquet")
    pl.DataFrame(class_rows).write_parquet(out / "task_classes.parquet")
    pl.DataFrame(image_rows).write_parquet(out / "task_images.parquet")

    rng = np.random.default_rng(stable_seed(params.seed, "pool"))
    pool_scenes = sample_scenes(rng, params.pool_size)
    np.savez(out / "pool.npz", images=render_all(pool_scenes, params.image_size))
    pl.DataFrame(scene_records(pool_scenes)).write_parquet(out / "pool_scenes.parquet")

    summary = {
        "params": params.model_dump(),
        "nodes": len(nodes),
        "leaves": len(leaves(nodes)),
        "probe_images": len(probe_images),
        "tasks": len(TASKS),
        "held_out_tasks": [t.name for t in TASKS if t.held_out],
        "pool_images": params.pool_size,
    }
    (out / "world.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _probe_index(nodes: list, probe_nodes: list[str]) -> pl.DataFrame:
    rows_of_leaf: dict[str, list[int]] = {}
    for index, node_id in enumerate(probe_nodes):
        rows_of_leaf.setdefault(node_id, []).append(index)
    records = []
    for node_id, below in descendant_leaves(nodes).items():
        for leaf_id in sorted(below):
            records += [(node_id, i, leaf_id == node_id) for i in rows_of_leaf.get(leaf_id, [])]
    return pl.DataFrame(records, schema=["node_id", "image_index", "direct"], orient="row")


def _task_split(task: TargetTask, split: str, params: WorldParams) -> tuple[np.ndarray, np.ndarray]:
    return render_task(task, split, params.per_class(split), params.seed, params.image_size)


def render_task(
    task: TargetTask, split: str, per_class: int, seed: int, image_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` images of each class of `task` for `split`, seeded by the task's name, and
    their labels: uint8 [C * per_class, H, W, 3], int64 [C * per_class]."""
    scenes, labels = [], []
    for label, task_class in enumerate(task.classes):
        rng = np.random.default_rng(stable_seed(seed, task.name, split, label))
        scenes += sample_scenes(rng, per_class, task_class.constraints)
        labels += [label] * per_class
    return render_all(scenes, image_size), np.array(labels, dtype=np.int64)


@dataclass(frozen=True)
class TaskSplit:
    """Images and labels of one split of a task."""

    images: np.ndarray
    labels: np.ndarray


class World:
    """Read access to a built world folder."""

    def __init__(self, root: Path) -> None:
        if not (root / "world.json").is_file():
            raise DatasetError(
                f"no world at {root}: build it with `dvc repro world` or `make demo`"
            )
        self.root = root

    @cached_property
    def summary(self) -> dict:
        """world.json."""
        return json.loads((self.root / "world.json").read_text())

    @cached_property
    def nodes(self) -> pl.DataFrame:
        """node_id, name, description, facet, is_leaf."""
        return pl.read_parquet(self.root / "nodes.parquet")

    @cached_property
    def edges(self) -> pl.DataFrame:
        """parent_id, child_id."""
        return pl.read_parquet(self.root / "edges.parquet")

    @cached_property
    def probe_images(self) -> np.ndarray:
        """uint8 [P, H, W, 3]."""
        with np.load(self.root / "probes.npz", allow_pickle=False) as archive:
            return archive["images"]

    @cached_property
    def probe_index(self) -> pl.DataFrame:
        """node_id, image_index, direct."""
        return pl.read_parquet(self.root / "probe_index.parquet")

    @cached_property
    def tasks(self) -> pl.DataFrame:
        """task, domain, description, held_out, n_classes."""
        return pl.read_parquet(self.root / "tasks.parquet")

    @cached_property
    def task_classes(self) -> pl.DataFrame:
        """task, class_index, class_name, description, nodes."""
        return pl.read_parquet(self.root / "task_classes.parquet")

    def class_names(self, task: str) -> list[str]:
        """The class names of `task` in label order."""
        rows = self.task_classes.filter(pl.col("task") == task).sort("class_index")
        if rows.is_empty():
            known = ", ".join(self.tasks["task"])
            raise DatasetError(f"the world has no task {task!r}; it has: {known}")
        return rows["class_name"].to_list()

    def split(self, task: str, split: str) -> TaskSplit:
        """One split of a task."""
        self.class_names(task)
        with np.load(self.root / "tasks" / f"{task}.npz", allow_pickle=False) as archive:
            return TaskSplit(archive[f"{split}_images"], archive[f"{split}_labels"])

    @cached_property
    def pool_images(self) -> np.ndarray:
        """The starter hub's training pool, uint8 [M, H, W, 3]."""
        with np.load(self.root / "pool.npz", allow_pickle=False) as archive:
            return archive["images"]

    @cached_property
    def pool_scenes(self) -> pl.DataFrame:
        """The scene of every pool image."""
        return pl.read_parquet(self.root / "pool_scenes.parquet")
