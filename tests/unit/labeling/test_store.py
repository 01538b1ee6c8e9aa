import polars as pl
import pytest

from hubscout.data.store import World
from hubscout.errors import SourceError
from hubscout.labeling.store import label_model, labels_dir, model_id_of, read_labels
from hubscout.settings import Settings


def test_model_ids_are_file_safe():
    assert model_id_of("starter:vlm-colours") == "vlm-colours"
    assert model_id_of("timm:resnet18@/tmp/w.pt") == "timm_resnet18_tmp_w.pt"


def test_labels_are_computed_once_and_adding_a_model_touches_only_it(fresh_data_dir):
    settings = Settings()
    world = World(settings.data_dir / "world")
    with pytest.raises(SourceError, match="no model is labeled"):
        read_labels(settings)
    first = label_model("starter:vlm-colours", world, settings)
    assert first.computed and first.path == labels_dir(settings) / "vlm-colours.parquet"
    assert first.table.equals(first.table.sort("node_id", "metric"))  # same bytes every run
    stamp = first.path.stat().st_mtime_ns
    again = label_model("starter:vlm-colours", world, settings)
    assert not again.computed and again.table.equals(first.table)

    added = label_model("starter:clf-colours", world, settings)
    assert added.computed
    assert first.path.stat().st_mtime_ns == stamp
    assert not label_model("starter:vlm-colours", world, settings).computed

    labels = read_labels(settings)
    assert set(labels["model_id"]) == {"vlm-colours", "clf-colours"}
    colours = labels.filter(pl.col("model_id") == "clf-colours")
    assert set(colours.filter(pl.col("metric") == "covered")["node_id"]) >= {
        "crimson",
        "warm colour",
    }
    assert "triangle" not in set(colours["node_id"])
    vlm = labels.filter(pl.col("model_id") == "vlm-colours")
    assert vlm["label_version"].n_unique() == 1 and vlm["graph_hash"].n_unique() == 1


def test_generators_and_unknown_models_are_refused(fresh_data_dir):
    settings = Settings()
    world = World(settings.data_dir / "world")
    with pytest.raises(SourceError, match="labels are for VLMs and classifiers"):
        label_model("starter:gen-dark", world, settings)
    with pytest.raises(SourceError, match="has no model 'nope'"):
        label_model("starter:nope", world, settings)
