import numpy as np
import polars as pl
import pytest

from hubscout.data.store import World
from hubscout.errors import SourceError
from hubscout.labeling.store import label_model, model_id_of, read_labels
from hubscout.selection.benchmark import concept_texts
from hubscout.selection.matching import match_task
from hubscout.selection.ranking import LabelMatrix, rank
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings
from hubscout.text import text_embedder
from tests.conftest import TINY_CLIP_ARCH


def test_model_ids_are_file_safe():
    assert model_id_of("starter:vlm-colours") == "vlm-colours"
    assert model_id_of("timm:resnet18@/tmp/w.pt") == "timm_resnet18_tmp_w.pt"


def test_labels_are_computed_once_and_adding_a_model_touches_only_it(fresh_data_dir):
    settings = Settings()
    world = World(settings.data_dir / "world")
    with pytest.raises(SourceError, match="no model is labeled"):
        read_labels(settings)
    first = label_model("starter:vlm-colours", world, settings)
    assert first.computed and first.path == settings.layout.labels / "vlm-colours.parquet"
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
    only = read_labels(settings, ["clf-colours", "never-labeled"])
    assert only.equals(added.table)  # that model's file alone; one never labeled is absent
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


def test_a_random_weight_vlm_is_at_chance_on_informedness_and_ranked_below_a_trained_one(
    fresh_data_dir, tiny_clip
):
    settings = Settings()
    world = World(settings.data_dir / "world")
    random_source = f"open_clip:{TINY_CLIP_ARCH}@{tiny_clip[1]}"
    tables = {
        "random": label_model(random_source, world, settings).table,
        "trained": label_model("starter:vlm-colours", world, settings).table,
    }
    labels = pl.concat([t.with_columns(model_id=pl.lit(n)) for n, t in tables.items()])

    def values(model: str, metric: str) -> dict[str, float]:
        rows = labels.filter((pl.col("model_id") == model) & (pl.col("metric") == metric))
        return dict(rows.select("node_id", "value").iter_rows())

    # the random model games recall: it answers one sibling for all of them and is "perfect"
    # on it; informedness puts it at chance there and on average
    recall, informedness = (
        values("random", "acc_siblings"),
        values("random", "informedness_siblings"),
    )
    gamed = [node for node, value in recall.items() if value == 1.0]
    assert gamed and max(informedness[node] for node in gamed) < 0.1
    assert abs(np.mean(list(informedness.values()))) < 0.02
    matrix = LabelMatrix.from_labels(labels, "informedness_siblings")
    embedder = text_embedder()
    spec = TaskSpec(class_names=["crimson", "navy", "olive"])
    selection = rank(matrix, match_task(spec, concept_texts(world, embedder), embedder))
    assert selection.models == ["trained", "random"] and selection.overall["random"] < 0.05
