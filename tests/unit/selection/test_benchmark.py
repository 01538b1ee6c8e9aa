import numpy as np
import polars as pl
import pytest

from hubscout.data.store import World
from hubscout.labeling.store import read_labels
from hubscout.models import load_model
from hubscout.selection.benchmark import (
    ALPHAS,
    LABEL_METRICS,
    MARGINS,
    bootstrap_intervals,
    ranking_metrics,
    run_benchmark,
    summarise,
    tune_selection,
)
from hubscout.settings import Settings
from hubscout.starter.evaluation import zero_shot_table
from hubscout.text import text_embedder


def test_ranking_metrics_on_known_rankings():
    truth = {m: v for m, v in zip("abcdefg", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], strict=True)}
    assert ranking_metrics(truth, truth) == {"R5": 1.0, "tau": pytest.approx(1.0)}
    reversed_scores = {m: -v for m, v in truth.items()}
    result = ranking_metrics(reversed_scores, truth)
    assert result["R5"] == 3 / 5 and result["tau"] == pytest.approx(-1.0)


@pytest.fixture(scope="module")
def benchmark(labeled_data_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
        settings = Settings()
        world = World(settings.data_dir / "world")
        models = {n: load_model(f"starter:{n}") for n in ("vlm-colours", "vlm-dark")}
        truth = zero_shot_table(world, models, settings.cache_dir)
        table, fitted = run_benchmark(
            world, read_labels(settings), models, truth, text_embedder(), settings.cache_dir, k=2
        )
        return table, fitted, truth


def test_benchmark_table_covers_every_task_and_metric(benchmark):
    table, fitted, truth = benchmark
    assert table.height == 17 and table.filter(pl.col("held_out")).height == 5
    assert "rel1_oracle" not in table.columns  # 1.0 by construction: nothing measured
    swatches = table.filter(pl.col("task") == "swatches").row(0, named=True)
    expected = truth.filter(pl.col("task") == "swatches")
    assert swatches["acc_best"] == expected["accuracy"].max()
    assert swatches["rel1_selection"] == swatches["acc_pick"] / swatches["acc_best"]
    assert swatches["rel1_random"] == pytest.approx(
        expected["accuracy"].mean() / expected["accuracy"].max()
    )
    assert swatches["not_covered"] == 0 and swatches["ensemble_size"] >= 1
    assert len(fitted.coefficients) == 3


def test_tuning_covers_the_grid_on_tuning_tasks_and_scores_the_generalist_by_hand(
    labeled_data_dir, benchmark
):
    _, _, truth = benchmark
    world = World(labeled_data_dir / "world")
    labels = read_labels(Settings(data_dir=labeled_data_dir))
    labels = labels.filter(pl.col("model_id").is_in(["vlm-colours", "vlm-dark"]))
    tuning = world.tasks.filter(~pl.col("held_out"))["task"].to_list()
    grid = tune_selection(world, labels, truth, text_embedder(), tuning)
    selection = grid.filter(pl.col("method") == "selection")
    assert selection.height == len(ALPHAS) * len(MARGINS) * len(LABEL_METRICS) == 96
    assert selection["rel1"].to_list() == sorted(selection["rel1"], reverse=True)
    # the generalist picks the model with the higher mean label on every task
    for row in grid.filter(pl.col("method") == "generalist").iter_rows(named=True):
        means = (
            labels.filter(pl.col("metric") == row["metric"])
            .group_by("model_id")
            .agg(pl.col("value").mean())
        )
        pick = means.sort(["value", "model_id"], descending=[True, False])["model_id"][0]
        on_tuning = truth.filter(pl.col("task").is_in(tuning))
        best = on_tuning.group_by("task").agg(pl.col("accuracy").max().alias("best"))
        picked = on_tuning.filter(pl.col("model") == pick).join(best, on="task")
        assert row["rel1"] == pytest.approx((picked["accuracy"] / picked["best"]).mean())


def test_summary_separates_held_out_tasks(benchmark):
    summary = summarise(benchmark[0])
    assert summary["held_out"].to_list() == [True, False]
    assert "rel1_selection" in summary.columns and "task" not in summary.columns


def test_bootstrap_intervals_on_hand_computed_cases():
    # two tasks: a resample's mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% quantiles are 0 and 1; a constant column has a point interval; the
    # paired difference of two columns that always agree is exactly 0
    intervals = bootstrap_intervals(
        {"two": np.array([0.0, 1.0]), "constant": np.full(2, 0.7), "diff": np.zeros(2)},
        resamples=4000,
    )
    assert intervals == {"two": (0.0, 1.0), "constant": (0.7, 0.7), "diff": (0.0, 0.0)}
    # many tasks: the interval is close to mean +- 1.96 standard errors
    values = np.random.default_rng(1).normal(0.5, 0.2, size=400)
    low, high = bootstrap_intervals({"v": values})["v"]
    half = 1.96 * values.std() / np.sqrt(len(values))
    assert low == pytest.approx(values.mean() - half, abs=0.003)
    assert high == pytest.approx(values.mean() + half, abs=0.003)
    with pytest.raises(ValueError, match="one value per task"):
        bootstrap_intervals({"a": np.zeros(2), "b": np.zeros(3)})
