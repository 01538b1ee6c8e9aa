"""Flow: benchmark text-only selection and reuse on the starter hub's tasks.

Run by the DVC stage `selection_benchmark` (`python -m flows.selection_benchmark`). Also
scores the reuse of expert classifiers (head combination + VLM fallback). Writes the
per-task table, the held-out summary (reports/selection.json) and the accuracy model that
`hubscout select` uses to predict accuracies; logs them and a plot to MLflow.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.hub import LABEL_COLUMNS, Hub, HubModel
from hubscout.labeling.store import read_labels
from hubscout.models import load_model
from hubscout.models.starter_loader import manifest_path, read_manifest
from hubscout.params import SelectionParams, read_section
from hubscout.reuse.experts import reuse_experts
from hubscout.selection.answer import SelectionIndex
from hubscout.selection.benchmark import (
    SelectionParameters,
    bootstrap_intervals,
    concept_texts,
    run_benchmark,
    summarise,
    tune_selection,
)
from hubscout.selection.matching import ConceptMatcher
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.text import text_embedder
from tasks.tracking import mlflow_run

REL1 = ["rel1_selection", "rel1_generalist", "rel1_random"]


def starter_hub(settings: Settings) -> Hub:
    """The starter hub's labeled models as a hub snapshot of their own, so that what users
    register in the registry never moves a benchmark."""
    entries = read_manifest(manifest_path(settings)).models
    labels = read_labels(settings).select(LABEL_COLUMNS)
    models = {
        e.name: HubModel(e.name, f"starter:{e.name}", e.kind, "", "ready")
        for e in entries
        if e.name in set(labels["model_id"])
    }
    return Hub(
        version=0, models=models, labels=labels.filter(pl.col("model_id").is_in(list(models)))
    )


def held_out_intervals(table: pl.DataFrame) -> dict[str, list[float]]:
    """95% bootstrap intervals over the held-out tasks of the headline means, and of the
    paired differences that say whether selection beats the generalist and whether the
    ensemble beats the best single selected model."""
    held = table.filter(pl.col("held_out"))
    columns = {name: held[name].to_numpy() for name in (*REL1, "R5", "tau", "L1")}
    columns["rel1_selection_minus_generalist"] = (
        columns["rel1_selection"] - columns["rel1_generalist"]
    )
    columns["acc_ensemble_minus_best_selected"] = (
        held["acc_ensemble"].to_numpy() - held["acc_best_selected"].to_numpy()
    )
    return {
        name: [round(low, 4), round(high, 4)]
        for name, (low, high) in bootstrap_intervals(columns).items()
    }


@flow(name="selection-benchmark", log_prints=True)
def selection_benchmark_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/selection.json")
) -> dict:
    """Select for every task from its class names alone; score against real accuracies."""
    settings = Settings()
    k = read_section(params_file, "selection", SelectionParams).k
    out = settings.data_dir / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    world = World(settings.data_dir / "world")
    entries = read_manifest(manifest_path(settings)).models
    models = {e.name: load_model(f"starter:{e.name}") for e in entries if e.kind == "vlm"}
    truth = pl.read_parquet(settings.data_dir / "hub" / "zero_shot.parquet")
    labels = read_labels(settings).filter(pl.col("model_id").is_in(list(models)))
    tuning_tasks = world.tasks.filter(~pl.col("held_out"))["task"].to_list()
    grid = tune_selection(world, labels, truth, text_embedder(), tuning_tasks)
    best = grid.filter(pl.col("method") == "selection").row(0, named=True)
    generalist = grid.filter(pl.col("method") == "generalist").row(0, named=True)
    parameters = SelectionParameters(best["alpha"], best["margin"], best["metric"])
    table, accuracy_model = run_benchmark(
        world,
        labels,
        models,
        truth,
        text_embedder(),
        settings.cache_dir,
        k=k,
        parameters=parameters,
        generalist_metric=generalist["metric"],
    )
    matcher = ConceptMatcher(concept_texts(world, text_embedder()), text_embedder())
    index = SelectionIndex.build(starter_hub(settings), matcher)
    experts = {task: reuse_experts(task, world, index, settings).accuracy for task in table["task"]}
    table = table.with_columns(
        pl.col("task").replace_strict(experts, return_dtype=pl.Float64).alias("acc_experts")
    )
    table.write_parquet(out / "selection.parquet")
    (out / "accuracy_model.json").write_text(json.dumps(accuracy_model.coefficients) + "\n")
    summary = summarise(table)
    held_out = summary.filter(pl.col("held_out")).drop("held_out").to_dicts()[0]
    report.parent.mkdir(parents=True, exist_ok=True)
    tuning = {
        "tasks": tuning_tasks,
        "grid_points": grid.height,
        "selection": {key: best[key] for key in ("alpha", "margin", "metric")}
        | {"rel1": round(best["rel1"], 4), "R5": round(best["R5"], 4)},
        "generalist": {"metric": generalist["metric"], "rel1": round(generalist["rel1"], 4)},
    }
    written = {k: round(v, 4) for k, v in held_out.items()}
    written["intervals_95"] = held_out_intervals(table)
    written["tuning"] = tuning
    report.write_text(json.dumps(written, indent=2) + "\n")
    with mlflow_run(settings, "selection", f"selection-benchmark-k{k}"):
        mlflow.log_param("k", k)
        mlflow.log_metrics({f"held_out.{name}": value for name, value in held_out.items()})
        mlflow.log_table(table.to_pandas(), artifact_file="selection.json")
        mlflow.log_table(grid.to_pandas(), artifact_file="tuning_grid.json")
        mlflow.log_params({f"tuned.{key}": value for key, value in tuning["selection"].items()})
        figure, axes = plt.subplots(figsize=(9, 4))
        held = table.filter(pl.col("held_out"))
        for offset, column in enumerate(REL1):
            axes.bar(
                [i + 0.2 * offset for i in range(held.height)], held[column], 0.2, label=column
            )
        axes.set_xticks([i + 0.3 for i in range(held.height)], held["task"].to_list())
        axes.set_ylabel("rel@1 (accuracy of the pick / best)")
        axes.legend(fontsize=7)
        figure.tight_layout()
        mlflow.log_figure(figure, "rel1_held_out.png")
    print(
        table.select(
            "task", "held_out", "pick", "best_model", *REL1, "acc_ensemble", "acc_best_selected"
        )
    )
    print(json.dumps(written, indent=2))
    return written


if __name__ == "__main__":
    apply_offline_defaults()
    selection_benchmark_flow()
