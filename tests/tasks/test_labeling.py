"""The starter hub's labels go through the one label store: computed on Ray once, the same
bytes as a label computed in-process, reused when current, and apart from a registered
model's id."""

import shutil

import polars as pl
from polars.testing import assert_frame_equal

from hubscout.data.store import World
from hubscout.labeling.store import label_model, model_id_of
from hubscout.settings import Settings
from tasks.labeling import label_starter_hub

LABELED = ["clf-colours", "clf-patterns", "vlm-colours", "vlm-dark"]  # the tiny hub's


def test_the_starter_hub_is_labeled_once_into_the_store_every_model_shares(
    fresh_data_dir, tmp_path
):
    settings = Settings()
    labels = label_starter_hub(settings)
    assert sorted(labels["model_id"].unique()) == LABELED
    store = settings.layout.labels
    stamps = {path.name: path.stat().st_mtime_ns for path in store.glob("*.parquet")}
    assert sorted(stamps) == [f"{name}.parquet" for name in LABELED]
    # on Ray or in-process (in a copy of the data dir), the label is the same table
    for folder in ("world", "hub"):
        shutil.copytree(fresh_data_dir / folder, tmp_path / "copy" / folder)
    copy = Settings(data_dir=tmp_path / "copy")
    direct = label_model("starter:vlm-dark", World(copy.layout.world), copy)
    assert direct.computed
    assert_frame_equal(labels.filter(pl.col("model_id") == "vlm-dark"), direct.table)

    again = label_starter_hub(settings)  # current labels are read, not computed
    assert_frame_equal(again, labels)
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.parquet")} == stamps
    # a registered model's id carries its scheme: it never takes a starter model's file
    assert model_id_of("open_clip:vlm-dark@/models/vlm-dark.pt") == (
        "open_clip_vlm-dark_models_vlm-dark.pt"
    )
