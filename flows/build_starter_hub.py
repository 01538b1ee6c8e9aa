"""Flow: train the starter hub on Ray, write its manifest, evaluate and log it.

Run by the DVC stage `starter_hub` (`python -m flows.build_starter_hub`), parameters from
params.yaml. Models already trained with the same fingerprint are reused.
"""

import json
from pathlib import Path

import mlflow
import polars as pl
from prefect import flow

from hubscout.params import read_params
from hubscout.plots import heatmap
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.starter.build import HubParams, kind_of, write_manifest
from hubscout.starter.evaluation import best_model_per_task
from hubscout.starter.fidelity import SYMBOLS
from tasks.starter_hub import (
    evaluate_vlms,
    measure_generator_fidelity,
    train_starter_models,
    write_generator_contact_sheets,
)
from tasks.tracking import mlflow_run


def zero_shot_by_task(table: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Every VLM's test accuracy on every task, keyed by task, then model (both sorted)."""
    return {
        task: {model: round(accuracy, 4) for model, accuracy in rows.sort("model").iter_rows()}
        for (task,), rows in table.select("task", "model", "accuracy")
        .sort("task")
        .group_by("task", maintain_order=True)
        for rows in [rows.drop("task")]
    }


@flow(name="build-starter-hub", log_prints=True)
def build_starter_hub_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/starter_hub.json")
) -> dict:
    """Train (or reuse) every model of the profile, then summarise the hub."""
    settings = Settings()
    params = HubParams(**read_params(params_file, "starter_hub"))
    world_dir, hub = settings.layout.world, settings.layout.hub
    recipes = params.recipes()
    results = train_starter_models(recipes, world_dir, params, hub, settings)
    write_manifest(hub, recipes)
    names = {kind: [s.name for s in recipes if kind_of(s) == kind] for kind in ("vlm", "generator")}
    sheets = write_generator_contact_sheets(names["generator"], settings.layout)
    generator_specs = [s for s in recipes if kind_of(s) == "generator"]
    fidelity = measure_generator_fidelity(
        generator_specs, params, settings.cache_dir, settings.layout.hub_manifest
    )
    table = evaluate_vlms(names["vlm"], world_dir, settings)
    table.write_parquet(hub / "zero_shot.parquet")
    best = best_model_per_task(table)
    trained_seconds = {card.name: seconds for card, seconds in results if seconds is not None}
    summary = {
        "models": len(recipes),
        "distinct_best_vlms": best["best_model"].n_unique(),
        "mean_zero_shot_accuracy": {
            row["model"]: round(row["accuracy"], 4)
            for row in table.group_by("model")
            .agg(pl.col("accuracy").mean())
            .sort("model")
            .to_dicts()
        },
        "best_per_task": {
            task: {"model": model, "accuracy": round(accuracy, 4)}
            for task, model, accuracy in best.iter_rows()
        },
        "zero_shot": zero_shot_by_task(table),
        "generator_fidelity": {
            "chance": round(1 / len(SYMBOLS), 4),
            **{
                name: {"samples": round(f.samples, 4), "real": round(f.real, 4)}
                for name, f in fidelity.items()
            },
        },
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(summary, indent=2) + "\n")  # no timings: a rebuild matches it
    with mlflow_run(settings, "starter-hub", "build-starter-hub"):
        mlflow.log_params(params.model_dump())
        mlflow.log_metric("trained_now", len(trained_seconds))
        for card, _ in results:
            mlflow.log_metrics({f"{card.name}.{k}": v for k, v in card.metrics.items()})
        mlflow.log_metrics({f"{name}.training_seconds": s for name, s in trained_seconds.items()})
        mlflow.log_metric("distinct_best_vlms", summary["distinct_best_vlms"])
        mlflow.log_metrics({f"{name}.fidelity": f.samples for name, f in fidelity.items()})
        mlflow.log_metrics({f"{name}.fidelity_real": f.real for name, f in fidelity.items()})
        mlflow.log_table(table.to_pandas(), artifact_file="zero_shot.json")
        figure = heatmap(table, "task", "model", "accuracy", "zero-shot accuracy of starter VLMs")
        mlflow.log_figure(figure, "zero_shot_heatmap.png")
        for sheet in sheets:
            mlflow.log_artifact(str(sheet), artifact_path="generator_contact_sheets")
    print(json.dumps(summary, indent=2))
    print(f"trained now: {len(trained_seconds)} models in {sum(trained_seconds.values()):.0f} s")
    return summary | {"trained_now": sorted(trained_seconds)}


if __name__ == "__main__":
    apply_offline_defaults()
    build_starter_hub_flow()
