import numpy as np
import polars as pl
import pytest

from hubscout.data.graph import build_graph, nodes_frame
from hubscout.data.names import TUNING_NAMES, AlternativeName
from hubscout.data.store import World, render_task
from hubscout.data.tasks import draw_tasks
from hubscout.labeling.store import read_labels
from hubscout.selection.benchmark import (
    ALPHAS,
    LABEL_METRICS,
    MARGINS,
    THRESHOLDS,
    bootstrap_intervals,
    concept_texts,
    coverage,
    drawn_tasks,
    named_tasks,
    ranking_metrics,
    run_benchmark,
    summarise,
    tune_matching,
    tune_selection,
)
from hubscout.selection.matching import MATCH_THRESHOLD, THING_THRESHOLD, ClassMatch
from hubscout.settings import Settings
from hubscout.starter.evaluation import zero_shot_accuracy, zero_shot_table
from hubscout.text import ConceptTexts, text_embedder
from tests.conftest import load_hub_model


def test_ranking_metrics_on_known_rankings():
    truth = {m: v for m, v in zip("abcdefg", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], strict=True)}
    assert ranking_metrics(truth, truth) == {"R5": 1.0, "tau": pytest.approx(1.0)}
    reversed_scores = {m: -v for m, v in truth.items()}
    result = ranking_metrics(reversed_scores, truth)
    assert result["R5"] == 3 / 5 and result["tau"] == pytest.approx(-1.0)


DRAWN_PER_CLASS = 10


@pytest.fixture(scope="module")
def benchmark(labeled_data_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
        settings = Settings()
        world = World(settings.data_dir / "world")
        models = {n: load_hub_model(f"starter:{n}") for n in ("vlm-colours", "vlm-dark")}
        drawn = [*draw_tasks(3, "tuning"), *draw_tasks(3, "evaluation")]
        tasks = [
            *named_tasks(world, models, settings.cache_dir),
            *drawn_tasks(drawn, models, settings.cache_dir, DRAWN_PER_CLASS, seed=0),
        ]
        concepts = concept_texts(world, text_embedder())
        table, fitted = run_benchmark(tasks, read_labels(settings), concepts, text_embedder(), k=2)
        truth = zero_shot_table(world, models, settings.cache_dir)
        return table, fitted, truth, tasks, drawn, models


def test_benchmark_table_covers_every_task_and_metric(benchmark):
    table, fitted, truth, *_ = benchmark
    assert table.height == 17 + 6 and table.filter(pl.col("held_out")).height == 5 + 3
    assert table.filter(pl.col("source") == "drawn")["task"].to_list()[3:] == [
        "drawn-evaluation-000", "drawn-evaluation-001", "drawn-evaluation-002",
    ]  # fmt: skip
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


def test_named_tasks_truth_is_the_zero_shot_table(benchmark):
    _, _, truth, tasks, _, _ = benchmark
    expected = {(m, t): a for m, t, a in truth.select("model", "task", "accuracy").rows()}
    measured = {(m, t.name): a for t in tasks if t.source == "named" for m, a in t.truth().items()}
    assert measured == expected


def test_drawn_tasks_truth_is_zero_shot_with_the_concept_names(benchmark):
    _, _, _, tasks, drawn, models = benchmark
    names = {node.node_id: node.name for node in build_graph()}
    task = drawn[4]
    images, labels = render_task(task, "test", DRAWN_PER_CLASS, seed=0)
    prompts = [names[c.nodes[0]] for c in task.classes]
    (benchmark_task,) = [t for t in tasks if t.name == task.name]
    assert benchmark_task.class_names == task.class_names() and benchmark_task.held_out
    for name, model in models.items():
        direct = zero_shot_accuracy(model, prompts, images, labels)  # no feature cache
        assert benchmark_task.truth()[name] == pytest.approx(direct)


def test_tuning_covers_the_grid_on_tuning_tasks_and_scores_the_generalist_by_hand(
    labeled_data_dir, benchmark
):
    tasks = [t for t in benchmark[3] if not t.held_out]
    world = World(labeled_data_dir / "world")
    labels = read_labels(Settings(data_dir=labeled_data_dir))
    labels = labels.filter(pl.col("model_id").is_in(["vlm-colours", "vlm-dark"]))
    grid = tune_selection(tasks, labels, concept_texts(world, text_embedder()), text_embedder())
    selection = grid.filter(pl.col("method") == "selection")
    assert selection.height == len(ALPHAS) * len(MARGINS) == 24
    assert set(selection["metric"]) == {"informedness_siblings"}
    generalist = grid.filter(pl.col("method") == "generalist")
    assert sorted(generalist["metric"]) == sorted(LABEL_METRICS)
    assert selection["rel1"].to_list() == sorted(selection["rel1"], reverse=True)
    # the generalist picks the model with the higher mean label on every task
    for row in grid.filter(pl.col("method") == "generalist").iter_rows(named=True):
        means = (
            labels.filter(pl.col("metric") == row["metric"])
            .group_by("model_id")
            .agg(pl.col("value").mean())
        )
        pick = means.sort(["value", "model_id"], descending=[True, False])["model_id"][0]
        rel1 = [t.truth()[pick] / max(t.truth().values()) for t in tasks]
        assert row["rel1"] == pytest.approx(np.mean(rel1))


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


def test_coverage_counts_wrong_and_unrelated_matches_against_precision():
    names = [
        AlternativeName("scarlet", "red"),
        AlternativeName("burgundy", "crimson"),
        AlternativeName("ruby", "red"),
        AlternativeName("teapot", None),
    ]
    matches = [
        ClassMatch("scarlet", ["red", "crimson"], [0.9, 0.86], [0.51, 0.49]),  # right
        ClassMatch("burgundy", ["red"], [0.7], [1.0]),  # wrong node first
        ClassMatch("ruby", [], [], []),  # missed
        ClassMatch("teapot", ["teal"], [0.6], [1.0]),  # an unrelated name matched
    ]
    result = coverage(names, matches)
    assert result["precision"] == 1 / 3 and result["recall"] == 1 / 3
    assert result["f1"] == pytest.approx(1 / 3) and result["names"] == 4


def test_the_matching_thresholds_are_the_tuning_names_best():
    embedder = text_embedder()
    concepts = ConceptTexts.from_nodes(nodes_frame(build_graph()), embedder)
    grid = tune_matching(list(TUNING_NAMES), concepts, embedder)
    assert grid.height == len(THRESHOLDS) ** 2
    best = grid.row(0, named=True)
    assert (best["threshold"], best["thing_threshold"]) == (MATCH_THRESHOLD, THING_THRESHOLD)
    assert best["f1"] == pytest.approx(0.9647, abs=5e-5)  # the figure beside the constants
