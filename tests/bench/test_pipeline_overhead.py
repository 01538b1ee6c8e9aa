"""The pipeline-overhead benchmark's smoke run on a pipeline saved from the tiny hub."""

import pytest

from bench.pipeline_overhead import main
from hubscout.data.store import World
from hubscout.pathway.model import router_input, train_pathway
from hubscout.reuse.pipeline import save_pipeline
from hubscout.transferability.hub import task_dataset
from tests.conftest import load_hub_model

pytestmark = pytest.mark.slow

TASK = "traffic-lights"
MEMBERS = ["vlm-colours", "clf-colours"]


def test_smoke_run_times_the_pipeline_its_routed_members_and_every_member(
    starter_data_dir, tmp_path
):
    world = World(starter_data_dir / "world")
    models = [load_hub_model(f"starter:{name}") for name in MEMBERS]

    def split(name):
        data = task_dataset(world, TASK, name)
        features = [m.image_features(data.images) for m in models]
        return features, data.labels, router_input(data.images)

    training = train_pathway(split("train"), split("val"), len(world.class_names(TASK)), k=1)
    folder = save_pipeline(
        tmp_path / "p", TASK, world.class_names(TASK), models, MEMBERS, training.network
    )
    seconds = main(folder, starter_data_dir / "world", TASK, count=64)
    assert sorted(seconds) == ["every_member", "pipeline", "routed_members"]
    assert all(value > 0 for value in seconds.values())
    assert main(tmp_path / "none", starter_data_dir / "world", TASK) is None  # no pipeline
