"""Flows: train a Hub-Pathway on a world task and compare it with the obvious ways to reuse
the hub (`train_pathway`), and the same on every named task (DVC stage `pathway_benchmark`).

A task's pathway is saved as a reuse pipeline under data/pipelines/<task>-pathway-k<k>
(`pipeline:<folder>`, registrable as a model of kind pipeline). Each task's table (test
accuracy and models evaluated per input of each method), the pathway's model usage and an
accuracy-against-cost plot are logged to MLflow; the benchmark writes reports/pathway.json.
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.models import load_model
from hubscout.models.base import ImageEncoder
from hubscout.models.starter_loader import read_manifest
from hubscout.params import PathwayParams, SelectionParams, read_section
from hubscout.pathway.benchmark import Comparison, compare
from hubscout.reuse.pipeline import save_pipeline
from hubscout.selection.answer import SelectionIndex
from hubscout.settings import Settings, apply_offline_defaults
from tasks.pathway import selected_models, starter_selection_index, task_data
from tasks.progress import Steps
from tasks.tracking import mlflow_run


def hub_encoders(settings: Settings) -> dict[str, ImageEncoder]:
    """The starter hub's VLMs and classifiers: the models a pathway routes between."""
    hub_manifest = settings.layout.hub_manifest
    entries = read_manifest(hub_manifest).models
    return {
        e.name: load_model(f"starter:{e.name}", manifest=hub_manifest)
        for e in entries
        if e.kind != "generator"
    }


def pathway_on_task(
    task_name: str,
    k: int,
    seed: int,
    selection_k: int,
    world: World,
    models: dict[str, ImageEncoder],
    index: SelectionIndex,
    settings: Settings,
) -> tuple[Comparison, Path]:
    """Compare, save the pipeline, log the task's run to MLflow."""
    data = task_data(world, models, task_name, settings.cache_dir)
    class_names = world.class_names(task_name)
    comparison = compare(data, selected_models(index, class_names, selection_k), k, seed)
    folder = save_pipeline(
        settings.layout.pipelines / f"{task_name}-pathway-k{k}",
        task_name,
        class_names,
        [models[name] for name in data.models],
        data.models,
        comparison.pathway.network,
    )
    with mlflow_run(settings, "pathway", f"{task_name}-k{k}", {"hubscout.task": task_name}):
        mlflow.log_params({"task": task_name, "k": k, "seed": seed})
        mlflow.log_params({"epochs": comparison.pathway.epochs, "pipeline": str(folder)})
        for method, accuracy, cost, _ in comparison.table.iter_rows():
            if accuracy is not None:
                mlflow.log_metrics({f"accuracy.{method}": accuracy, f"cost.{method}": cost})
        mlflow.log_table(comparison.table.to_pandas(), artifact_file="comparison.json")
        mlflow.log_dict(comparison.usage, "pathway_usage.json")
        mlflow.log_figure(cost_figure(comparison, task_name), "accuracy_vs_cost.png")
    plt.close("all")
    return comparison, folder


def cost_figure(comparison: Comparison, task_name: str) -> plt.Figure:
    """Test accuracy against hub models evaluated per input, one point per method, and how
    often the pathway runs each model."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for method, accuracy, cost, _ in comparison.table.iter_rows():
        if accuracy is not None:
            left.scatter(cost, accuracy, s=40)
            left.annotate(method, (cost, accuracy), fontsize=7, xytext=(4, 2),
                          textcoords="offset points")  # fmt: skip
    left.set_xlabel("hub models evaluated per input")
    left.set_ylabel("test accuracy")
    left.set_title(task_name)
    names = sorted(comparison.usage)
    right.barh(names, [comparison.usage[name] for name in names])
    right.set_xlabel("share of test inputs that run the model")
    figure.tight_layout()
    return figure


@flow(name="train-pathway", log_prints=True)
def train_pathway_flow(
    task_name: str, k: int | None = None, params_file: Path = Path("params.yaml")
) -> dict:
    """Train the pathway on one world task; its comparison and the saved pipeline."""
    settings = Settings()
    params = read_section(params_file, "pathway", PathwayParams)
    selection_k = read_section(params_file, "selection", SelectionParams).k
    world = World(settings.layout.world)
    world.class_names(task_name)  # an unknown task fails here, before anything loads
    index = starter_selection_index(world, settings)
    comparison, folder = pathway_on_task(
        task_name, k or params.k, params.seed, selection_k, world, hub_encoders(settings),
        index, settings,
    )  # fmt: skip
    print(comparison.table)
    return {
        "task": task_name,
        "pipeline": str(folder),
        "epochs": comparison.pathway.epochs,
        "table": comparison.table.to_dicts(),
        "usage": comparison.usage,
    }


@flow(name="pathway-benchmark", log_prints=True)
def pathway_benchmark_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/pathway.json")
) -> dict:
    """The pathway against every baseline on each named world task; reports/pathway.json."""
    settings = Settings()
    params = read_section(params_file, "pathway", PathwayParams)
    selection_k = read_section(params_file, "selection", SelectionParams).k
    world = World(settings.layout.world)
    models = hub_encoders(settings)
    index = starter_selection_index(world, settings)
    tables = []
    task_names = params.tasks or world.tasks["task"].to_list()
    with Steps("tasks compared", task_names) as steps:
        for number, task_name in enumerate(task_names):
            comparison, _ = pathway_on_task(
                task_name, params.k, params.seed, selection_k, world, models, index, settings
            )
            tables.append(comparison.table.with_columns(task=pl.lit(task_name)))
            accuracy = dict(comparison.table.select("method", "accuracy").iter_rows())
            steps.done(number, f"pathway accuracy {accuracy[f'pathway_k{params.k}']:.3f}")
    table = pl.concat(tables)
    means = table.group_by("method", maintain_order=True).agg(
        pl.col("accuracy").mean().round(4), pl.col("models_per_input").mean().round(2)
    )
    pathway = f"pathway_k{params.k}"
    wins = {
        method: int(
            (
                table.filter(pl.col("method") == pathway)["accuracy"]
                > table.filter(pl.col("method") == method)["accuracy"]
            ).sum()
        )
        for method in means["method"]
        if method != pathway
    }
    result = {
        "about": "test accuracy of each way to reuse the hub on every named world task "
        "(trained on train + val), and hub models evaluated per input",
        "tasks": table.height // means.height,
        "hub_models": len(models),
        "mean": {m: {"accuracy": a, "models_per_input": c} for m, a, c in means.iter_rows()},
        "pathway_beats": wins,
        "per_task": {
            task_name: {
                method: round(accuracy, 4) if accuracy is not None else None
                for method, accuracy in part.select("method", "accuracy").iter_rows()
            }
            for (task_name,), part in table.group_by("task", maintain_order=True)
        },
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    with mlflow_run(settings, "pathway", f"pathway-benchmark-k{params.k}"):
        mlflow.log_table(table.to_pandas(), artifact_file="pathway_benchmark.json")
        mlflow.log_metrics({f"mean_accuracy.{m}": a for m, a, _ in means.iter_rows()})
    return result


if __name__ == "__main__":
    apply_offline_defaults()
    pathway_benchmark_flow()
