"""The pathway's side effects: the hub models' features of a task's splits (from the feature
cache), the models text-only selection picks for its classes, and the saved pipeline."""

from pathlib import Path

from prefect import task

from hubscout.data.store import World
from hubscout.features import extract_features
from hubscout.labeling.store import starter_hub
from hubscout.models.base import ImageEncoder
from hubscout.pathway.benchmark import SPLITS, TaskData
from hubscout.pathway.model import router_input
from hubscout.reuse.world_tasks import selected_for_classes
from hubscout.selection.answer import SelectionIndex, select_models
from hubscout.selection.benchmark import concept_texts
from hubscout.selection.matching import ConceptMatcher
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings
from hubscout.text import text_embedder
from hubscout.transferability.hub import task_dataset
from tasks.labeling import label_starter_hub


@task(name="pathway-task-data")
def task_data(
    world: World, models: dict[str, ImageEncoder], task_name: str, cache_dir: Path
) -> TaskData:
    """Every model's features of the task's train, val and test splits, and the router's
    input."""
    datasets = {split: task_dataset(world, task_name, split) for split in SPLITS}
    features = {
        name: {
            split: extract_features(model, data, cache_dir, show_progress=False).features
            for split, data in datasets.items()
        }
        for name, model in models.items()
    }
    return TaskData(
        features,
        {split: data.labels for split, data in datasets.items()},
        {split: router_input(data.images) for split, data in datasets.items()},
    )


@task(name="selection-index")
def starter_selection_index(world: World, settings: Settings) -> SelectionIndex:
    """The starter hub's selection index (its labels, the world's concept graph)."""
    labels = label_starter_hub(settings)
    embedder = text_embedder()
    matcher = ConceptMatcher(concept_texts(world, embedder), embedder)
    return SelectionIndex.build(starter_hub(settings.layout.hub_manifest, labels), matcher)


def selected_models(index: SelectionIndex, class_names: list[str], k: int) -> list[str]:
    """The VLMs text-only selection picks for the classes (k per class), by name."""
    selection = select_models(TaskSpec(class_names=class_names), index, k=k).selection
    return sorted(selected_for_classes(selection, class_names))
