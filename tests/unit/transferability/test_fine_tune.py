import torch

from hubscout.data.store import World
from hubscout.settings import Settings
from hubscout.transferability.fine_tune import fine_tune_accuracy
from hubscout.transferability.hub import labeled_part, task_dataset
from tests.conftest import load_hub_model


def test_fine_tuning_beats_chance_and_leaves_the_hub_model_alone(starter_data_dir):
    world = World(Settings().data_dir / "world")
    model = load_hub_model("starter:clf-colours")
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    test = task_dataset(world, "swatches", "test")
    accuracy = fine_tune_accuracy(model, labeled_part(world, "swatches"), test, steps=40)
    assert accuracy > 2 / 3  # three classes
    after = model.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    again = fine_tune_accuracy(model, labeled_part(world, "swatches"), test, steps=40)
    assert again == accuracy
