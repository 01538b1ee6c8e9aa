"""Flow: benchmark text-only selection and reuse on the starter hub's tasks.

Run by the DVC stage `selection_benchmark` (`python -m flows.selection_benchmark`). Also
scores the reuse of expert classifiers (head combination + VLM fallback). Writes the
per-task table, the held-out summary (reports/selection.json) and the accuracy model that
selection answers predict accuracies with (data/benchmarks/tuned.json, which publish_hub
publishes); logs them, a plot and the labels' heatmap to MLflow. The labels it ranks are the
label store's, where the per-model job keeps them; any missing are computed by the same code.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import polars as pl
from prefect import flow

from hubscout.data.names import EVALUATION_NAMES, TUNING_NAMES
from hubscout.data.store import World
from hubscout.data.tasks import draw_tasks
from hubscout.labeling.store import starter_hub
from hubscout.models import load_model
from hubscout.models.starter_loader import read_manifest
from hubscout.params import SelectionParams, read_section
from hubscout.plots import heatmap
from hubscout.reuse.experts import reuse_experts
from hubscout.selection.answer import SelectionIndex
from hubscout.selection.benchmark import (
    TunedSelection,
    bootstrap_intervals,
    concept_texts,
    coverage,
    drawn_tasks,
    named_tasks,
    run_benchmark,
    summarise,
    tune_matching,
    tune_selection,
)
from hubscout.selection.matching import MATCH_THRESHOLD, THING_THRESHOLD, ConceptMatcher
from hubscout.selection.requirements import TaskSpec
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.text import ConceptTexts, TextEmbedder, text_embedder
from hubscout.tuning import AccuracyTuning, write_tuned
from tasks.labeling import label_starter_hub
from tasks.tracking import mlflow_run

REL1 = ["rel1_selection", "rel1_generalist", "rel1_random"]


def held_out_intervals(table: pl.DataFrame) -> dict[str, list[float]]:
    """95% bootstrap intervals over the held-out tasks of the headline means, and of the
    paired differences that say whether selection beats the generalist and whether the
    ensemble beats the best single selected model (picked with the test labels in hand)
    and selection's own pick (which a user without them gets)."""
    held = table.filter(pl.col("held_out"))
    columns = {name: held[name].to_numpy() for name in (*REL1, "R5", "tau", "L1")}
    columns["rel1_selection_minus_generalist"] = (
        columns["rel1_selection"] - columns["rel1_generalist"]
    )
    columns["acc_ensemble_minus_best_selected"] = (
        held["acc_ensemble"].to_numpy() - held["acc_best_selected"].to_numpy()
    )
    columns["acc_ensemble_minus_pick"] = (
        held["acc_ensemble"].to_numpy() - held["acc_pick"].to_numpy()
    )
    return {
        name: [round(low, 4), round(high, 4)]
        for name, (low, high) in bootstrap_intervals(columns).items()
    }


def coverage_report(concepts: ConceptTexts, embedder: TextEmbedder) -> tuple[dict, pl.DataFrame]:
    """Coverage precision and recall of the tuning and the evaluation names with matching's
    thresholds, and the tuning grid they were chosen on (its best row in the report)."""
    grid = tune_matching(list(TUNING_NAMES), concepts, embedder)
    matcher = ConceptMatcher(concepts, embedder)
    report: dict = {"thresholds": {"match": MATCH_THRESHOLD, "thing": THING_THRESHOLD}}
    for split, names in (("tuning", TUNING_NAMES), ("evaluation", EVALUATION_NAMES)):
        matches = matcher.match(TaskSpec(class_names=[n.name for n in names]))
        report[split] = {k: round(v, 4) for k, v in coverage(list(names), matches).items()}
        report[split]["unrelated_covered"] = sorted(
            n.name for n, m in zip(names, matches, strict=True) if n.node_id is None and m.covered
        )
    best = grid.row(0, named=True)
    report["tuned"] = {k: round(best[k], 4) for k in ("threshold", "thing_threshold", "f1")}
    return report, grid


@flow(name="selection-benchmark", log_prints=True)
def selection_benchmark_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/selection.json")
) -> dict:
    """Select for every task from its class names alone; score against real accuracies."""
    settings = Settings()
    params = read_section(params_file, "selection", SelectionParams)
    out = settings.layout.benchmarks
    out.mkdir(parents=True, exist_ok=True)
    world = World(settings.layout.world)
    entries = read_manifest(settings.layout.hub_manifest).models
    models = {
        e.name: load_model(f"starter:{e.name}", manifest=settings.layout.hub_manifest)
        for e in entries
        if e.kind == "vlm"
    }
    hub_labels = label_starter_hub(settings)  # the classifiers' too: the experts reuse them
    labels = hub_labels.filter(pl.col("model_id").is_in(list(models)))
    embedder = text_embedder()
    concepts = concept_texts(world, embedder)
    drawn = [
        *draw_tasks(params.drawn_tasks, "tuning", params.seed),
        *draw_tasks(params.drawn_tasks, "evaluation", params.seed),
    ]
    tasks = [
        *named_tasks(world, models, settings.cache_dir),
        *drawn_tasks(drawn, models, settings.cache_dir, params.drawn_per_class, params.seed),
    ]
    tuning_tasks = [t for t in tasks if not t.held_out]
    grid = tune_selection(tuning_tasks, labels, concepts, embedder)
    best = grid.filter(pl.col("method") == "selection").row(0, named=True)
    generalist = grid.filter(pl.col("method") == "generalist").row(0, named=True)
    parameters = TunedSelection(best["alpha"], best["margin"], best["metric"])
    table, accuracy_model = run_benchmark(
        tasks,
        labels,
        concepts,
        embedder,
        k=params.k,
        parameters=parameters,
        generalist_metric=generalist["metric"],
    )
    matching, matching_grid = coverage_report(concepts, embedder)
    hub = starter_hub(settings.layout.hub_manifest, hub_labels)
    index = SelectionIndex.build(hub, ConceptMatcher(concepts, embedder))
    named = table.filter(pl.col("source") == "named")["task"]
    experts = {task: reuse_experts(task, world, index, settings).accuracy for task in named}
    table = table.with_columns(
        pl.col("task")
        .replace_strict(experts, default=None, return_dtype=pl.Float64)
        .alias("acc_experts")
    )
    table.write_parquet(out / "selection.parquet")
    tuning_tasks_count = sum(1 for task in tasks if not task.held_out)
    accuracy = AccuracyTuning(
        chosen_on=f"{tuning_tasks_count} tuning tasks x {len(models)} VLMs",
        coefficients=accuracy_model.coefficients,
    )
    write_tuned(out / "tuned.json", [accuracy])
    summary = summarise(table)
    held_out = summary.filter(pl.col("held_out")).drop("held_out").to_dicts()[0]
    report.parent.mkdir(parents=True, exist_ok=True)
    tuning = {
        "tasks": len(tuning_tasks),
        "named_tasks": [t.name for t in tuning_tasks if t.source == "named"],
        "grid_points": grid.height,
        "selection": {key: best[key] for key in ("alpha", "margin", "metric")}
        | {"rel1": round(best["rel1"], 4), "R5": round(best["R5"], 4)},
        "generalist": {"metric": generalist["metric"], "rel1": round(generalist["rel1"], 4)},
    }
    written = {k: round(v, 4) for k, v in held_out.items() if v is not None}
    written["evaluation_tasks"] = {
        source: int(count)
        for source, count in table.filter(pl.col("held_out"))
        .group_by("source")
        .len()
        .sort("source")
        .iter_rows()
    }
    written["intervals_95"] = held_out_intervals(table)
    written["by_source"] = source_means(table)
    written["tuning"] = tuning
    written["coverage"] = matching
    report.write_text(json.dumps(written, indent=2) + "\n")
    with mlflow_run(settings, "selection", f"selection-benchmark-k{params.k}"):
        mlflow.log_params(params.model_dump())
        mlflow.log_metrics(
            {f"held_out.{name}": value for name, value in held_out.items() if value is not None}
        )
        mlflow.log_table(table.to_pandas(), artifact_file="selection.json")
        mlflow.log_table(grid.to_pandas(), artifact_file="tuning_grid.json")
        mlflow.log_table(matching_grid.to_pandas(), artifact_file="matching_grid.json")
        mlflow.log_metrics(
            {
                f"coverage.{split}.{key}": matching[split][key]
                for split in ("tuning", "evaluation")
                for key in ("precision", "recall")
            }
        )
        mlflow.log_params({f"tuned.{key}": value for key, value in tuning["selection"].items()})
        mlflow.log_figure(rel1_figure(written), "rel1_held_out.png")
        leaves = hub_labels.filter(pl.col("metric") == "acc_leaves")
        title = "label: accuracy among leaves"
        mlflow.log_figure(heatmap(leaves, "node_id", "model_id", "value", title), "labels.png")
    print(
        table.filter(pl.col("source") == "named").select(
            "task", "held_out", "pick", "best_model", *REL1
        )
    )
    print(json.dumps(written, indent=2))
    return written


def source_means(table: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The evaluation tasks' mean rel@1 of each method, and the oracle's and the pick's mean
    accuracy, per source of tasks (named, drawn)."""
    columns = [*REL1, "acc_pick", "acc_best", "acc_ensemble", "acc_best_selected"]
    means = table.filter(pl.col("held_out")).group_by("source").agg(pl.col(columns).mean())
    return {
        row.pop("source"): {k: round(v, 4) for k, v in row.items()}
        for row in means.sort("source").to_dicts()
    }


def rel1_figure(written: dict) -> plt.Figure:
    """Mean rel@1 over the evaluation tasks of selection, the generalist and a random pick,
    with the 95% bootstrap intervals as error bars."""
    figure, axes = plt.subplots(figsize=(6, 4))
    means = [written[column] for column in REL1]
    intervals = [written["intervals_95"][column] for column in REL1]
    errors = [
        [m - low for m, (low, _) in zip(means, intervals, strict=True)],
        [high - m for m, (_, high) in zip(means, intervals, strict=True)],
    ]
    axes.bar(["selection", "generalist", "random"], means, yerr=errors, capsize=6)
    axes.set_ylabel("rel@1 (accuracy of the pick / best)")
    tasks = sum(written["evaluation_tasks"].values())
    axes.set_title(f"{tasks} evaluation tasks, 95% bootstrap intervals")
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    apply_offline_defaults()
    selection_benchmark_flow()
