"""Prefect tasks that build the world's files and its contact sheets."""

from pathlib import Path

from prefect import task

from hubscout.data.contact import contact_sheet, per_class_samples
from hubscout.data.store import World, WorldParams, build_world


@task(name="render-world")
def render_world(params: WorldParams, out: Path) -> dict:
    """Render the graph, probes, tasks and training pool into `out`."""
    return build_world(params, out)


@task(name="task-contact-sheets")
def write_task_contact_sheets(world_dir: Path, per_class: int = 8) -> list[Path]:
    """One PNG per task: a row of test images per class."""
    world = World(world_dir)
    folder = world_dir / "contact"
    folder.mkdir(exist_ok=True)
    paths = []
    for name in world.tasks["task"]:
        split = world.split(name, "test")
        class_names = world.class_names(name)
        rows = per_class_samples(split.images, split.labels, len(class_names), per_class)
        path = folder / f"{name}.png"
        contact_sheet(rows, class_names).save(path)
        paths.append(path)
    return paths
