import numpy as np
import polars as pl
import pytest

from hubscout.data.store import World
from hubscout.errors import DatasetError, TransferabilityInputError
from hubscout.models.starter_loader import read_manifest
from hubscout.settings import Settings
from hubscout.transferability.hub import (
    benchmark_task,
    labeled_dataset,
    leaf_names,
    rank_models,
    score_one_model,
    source_probabilities,
)
from hubscout.transferability.suite import METRICS
from tests.conftest import load_hub_model


@pytest.fixture
def hub_and_settings(starter_data_dir):
    """The tiny hub's world, its VLMs and classifiers, and the settings pointing at it."""
    settings = Settings()
    world = World(settings.data_dir / "world")
    entries = read_manifest(settings.layout.hub_manifest).models
    models = {e.name: load_hub_model(f"starter:{e.name}") for e in entries if e.kind != "generator"}
    return world, models, settings


def test_every_vlm_and_classifier_has_a_source_head(hub_and_settings):
    world, models, _ = hub_and_settings
    images = world.split("swatches", "train").images
    kinds = set()
    for model in models.values():
        probs = source_probabilities(model, model.image_features(images), images, leaf_names(world))
        assert probs.shape[0] == len(images) and probs.dtype == np.float64
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
        kinds.add(model.kind)
    assert kinds == {"vlm", "classifier"}


def test_rank_models_scores_every_model_on_a_world_task(hub_and_settings):
    world, models, settings = hub_and_settings
    dataset = labeled_dataset(world, "warm-shades")
    assert len(dataset) == 4 * 15  # train + val of the tiny world
    ranking = rank_models(
        dataset, models, settings.cache_dir, leaf_names(world), ["logme", "leep", "ncti"]
    )
    assert set(ranking["model"]) == set(models)
    assert ranking.columns == ["model", "logme", "leep", "ncti", "saturated"]
    assert ranking["logme"].is_sorted(descending=True)


def test_labeled_dataset_errors_say_what_to_do(hub_and_settings, tmp_path):
    world = hub_and_settings[0]
    with pytest.raises(DatasetError, match="neither a file or folder nor a world task; tasks: "):
        labeled_dataset(world, "no-such-task")
    unlabeled = tmp_path / "unlabeled.npz"
    np.savez(unlabeled, images=np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(DatasetError, match="has no labels"):
        labeled_dataset(world, str(unlabeled))


def test_benchmark_task_scores_every_metric_and_probes_every_model(hub_and_settings):
    world, models, settings = hub_and_settings
    scores, truth = benchmark_task(world, "patterns", models, settings.cache_dir, list(METRICS))
    assert set(truth["model"]) == set(models)
    assert truth["accuracy"].is_between(0, 1).all()
    assert (truth["ground_truth"] == "linear_probe").all()
    per_metric = dict(scores.group_by("metric").agg(pl.len()).iter_rows())
    assert per_metric == dict.fromkeys(METRICS, len(models))
    assert scores["score"].is_finite().all()


def test_a_model_scored_alone_gets_its_scores_in_the_pool_and_pool_metrics_are_refused(
    hub_and_settings,
):
    world, models, settings = hub_and_settings
    alone_metrics = [m for m in METRICS if not METRICS[m].pool_relative]
    name = "clf-colours"
    alone = score_one_model(world, name, models[name], settings.cache_dir, alone_metrics)
    assert alone["task"].to_list() == world.tasks["task"].to_list()
    scores, truth = benchmark_task(world, "patterns", models, settings.cache_dir, alone_metrics)
    row = alone.filter(pl.col("task") == "patterns").row(0, named=True)
    in_pool = scores.filter(pl.col("model") == name)
    assert {m: row[m] for m in alone_metrics} == pytest.approx(
        dict(zip(in_pool["metric"], in_pool["score"], strict=True)), rel=1e-12
    )
    assert row["accuracy"] == truth.filter(pl.col("model") == name)["accuracy"][0]
    with pytest.raises(TransferabilityInputError, match="etran, ncti rank a pool"):
        score_one_model(world, name, models[name], settings.cache_dir, ["logme", "etran", "ncti"])
