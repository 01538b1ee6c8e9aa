import json

import numpy as np
import pytest

from hubscout.data.store import World
from hubscout.errors import ConfigError, SourceError
from hubscout.pathway.model import predict_with_features, router_input, train_pathway
from hubscout.reuse.pipeline import (
    ReusePipeline,
    StaleMemberError,
    pipeline_hash,
    save_pipeline,
)
from hubscout.transferability.hub import task_dataset
from tests.conftest import load_hub_model

TASK = "traffic-lights"
MEMBERS = ["vlm-colours", "vlm-dark", "clf-colours"]


@pytest.fixture(scope="module")
def trained(tiny_hub):
    """A k=2 pathway over three tiny-hub models on a world task, and its split data."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSCOUT_DATA_DIR", str(tiny_hub[0].parent))
        world = World(tiny_hub[0].parent / "world")
        models = [load_hub_model(f"starter:{name}") for name in MEMBERS]
        splits = {s: task_dataset(world, TASK, s) for s in ("train", "val", "test")}

        def split(name):
            data = splits[name]
            features = [m.image_features(data.images) for m in models]
            return features, data.labels, router_input(data.images)

        training = train_pathway(split("train"), split("val"), len(world.class_names(TASK)), k=2)
        yield world, models, splits, training, split("test")


def test_a_saved_pipeline_reloads_and_predicts_identically(trained, tmp_path, starter_data_dir):
    world, models, splits, training, (features, labels, router) = trained
    folder = save_pipeline(
        tmp_path / "p", TASK, world.class_names(TASK), models, MEMBERS, training.network
    )
    loaded = load_hub_model(f"pipeline:{folder}")
    assert isinstance(loaded, ReusePipeline) and loaded.kind == "pipeline"
    assert loaded.content_hash == pipeline_hash(folder)
    assert loaded.class_names == world.class_names(TASK)
    images = splits["test"].images
    probabilities = loaded.predict_proba(images)
    # the same as the trained network on features computed for every model at once
    expected, gates = predict_with_features(training.network, router, features)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        probabilities, load_hub_model(f"pipeline:{folder}").predict_proba(images)
    )
    assert ((gates > 0).sum(axis=1) == 2).all()
    assert np.mean(probabilities.argmax(1) == labels) > 1 / len(loaded.class_names)
    # saved again unchanged: the same version
    save_pipeline(folder, TASK, world.class_names(TASK), models, MEMBERS, training.network)
    assert pipeline_hash(folder) == loaded.content_hash


def test_a_member_with_other_weights_is_refused(trained, tmp_path, starter_data_dir):
    world, models, _, training, _ = trained
    folder = save_pipeline(
        tmp_path / "p", TASK, world.class_names(TASK), models, MEMBERS, training.network
    )
    manifest = json.loads((folder / "pipeline.json").read_text())
    manifest["members"][1]["content_hash"] = "0" * 64
    (folder / "pipeline.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleMemberError, match=r"vlm-dark .* changed since the pipeline"):
        load_hub_model(f"pipeline:{folder}")


def test_bad_pipeline_folders_say_what_to_do(tmp_path, trained, starter_data_dir):
    with pytest.raises(SourceError, match="not a pipeline folder"):
        load_hub_model(f"pipeline:{tmp_path}")
    world, models, _, training, _ = trained
    folder = save_pipeline(
        tmp_path / "p", TASK, world.class_names(TASK), models, MEMBERS, training.network
    )
    (folder / "pipeline.json").write_text('{"format": "hubscout-pipeline-v1", "task": 3}')
    with pytest.raises(ConfigError, match="is invalid"):
        load_hub_model(f"pipeline:{folder}")
