"""Flow: score every hub model on every world task with the transferability metrics and
compare the rankings with linear-probe ground truth.

Run by the DVC stage `transferability_benchmark` (`python -m flows.transferability_benchmark`).
Metrics see each task's train + validation split. Ground truth: a linear probe (regularisation
picked on validation, test accuracy) for every (model, task); a short fine-tune on Ray for
every model on the `fine_tune_tasks` of params.yaml. Writes the scores, both ground truths
and the per-task evaluation against each (Polars/Parquet; the `ground_truth` column says
which), reports/transferability.json (mean tau_w per metric and ground truth), and logs
them with a tau_w heatmap to MLflow.
"""

import json
from pathlib import Path

import mlflow
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.models import load_model
from hubscout.models.starter_loader import read_manifest
from hubscout.params import TransferabilityParams, read_section
from hubscout.plots import heatmap
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.starter.build import HubParams
from hubscout.transferability.evaluation import evaluate, generalist_scores, summarise
from hubscout.transferability.fine_tune import GROUND_TRUTH_FINE_TUNE
from hubscout.transferability.ground_truth import GROUND_TRUTH_LINEAR_PROBE
from hubscout.transferability.hub import run_benchmark
from hubscout.transferability.suite import parse_metrics
from tasks.tracking import mlflow_run
from tasks.transferability import fine_tune_ground_truth


@flow(name="transferability-benchmark", log_prints=True)
def transferability_benchmark_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/transferability.json")
) -> dict:
    """Score, evaluate against both ground truths, write tables and log to MLflow."""
    settings = Settings()
    params = read_section(params_file, "transferability", TransferabilityParams)
    names = parse_metrics(params.metrics)
    seed = params.seed
    world = World(settings.layout.world)
    entries = read_manifest(settings.layout.hub_manifest).models
    models = {
        e.name: load_model(f"starter:{e.name}", manifest=settings.layout.hub_manifest)
        for e in entries
        if e.kind in ("vlm", "classifier")
    }
    scores, truth = run_benchmark(world, models, settings.cache_dir, names, seed)
    baseline = generalist_scores(truth).with_columns(saturated=pl.lit(False))
    scores = pl.concat([scores, baseline.select(scores.columns)])
    fine_tuned = fine_tune_ground_truth(
        list(models),
        params.fine_tune_tasks,
        params.fine_tune_steps,
        settings,
        read_section(params_file, "starter_hub", HubParams).parallel_jobs,
        seed,
    )
    unflagged = scores.with_columns(  # a null score is left out of its metric's ranking
        score=pl.when(pl.col("saturated")).then(None).otherwise(pl.col("score"))
    )
    evaluation = pl.concat(
        [
            evaluate(kept, ground_truth).with_columns(
                ground_truth=pl.lit(truth_name), scores=pl.lit(which)
            )
            for truth_name, ground_truth in (
                (GROUND_TRUTH_LINEAR_PROBE, truth),
                (GROUND_TRUTH_FINE_TUNE, fine_tuned),
            )
            for which, kept in (("all", scores), ("unflagged", unflagged))
        ]
    )
    summaries = {
        (truth_name, which): summarise(
            evaluation.filter((pl.col("ground_truth") == truth_name) & (pl.col("scores") == which))
        )
        for truth_name in (GROUND_TRUTH_LINEAR_PROBE, GROUND_TRUTH_FINE_TUNE)
        for which in ("all", "unflagged")
    }
    summary = summaries[(GROUND_TRUTH_LINEAR_PROBE, "all")]
    fine_tune_summary = summaries[(GROUND_TRUTH_FINE_TUNE, "all")]
    out = settings.layout.transferability
    out.mkdir(parents=True, exist_ok=True)
    scores.write_parquet(out / "scores.parquet")
    truth.write_parquet(out / "linear_probe.parquet")
    fine_tuned.write_parquet(out / "fine_tune.parquet")
    evaluation.write_parquet(out / "evaluation.parquet")
    result = {
        "ground_truth": [GROUND_TRUTH_LINEAR_PROBE, GROUND_TRUTH_FINE_TUNE],
        "models": len(models),
        "tasks": world.tasks.height,
        "mean_tau_w": _means(summary, "tau_w"),
        "mean_rel1": _means(summary, "rel1"),
        "fine_tune_tasks": sorted(set(fine_tuned["task"])),
        "mean_tau_w_fine_tune": _means(fine_tune_summary, "tau_w"),
        "saturated_scores": int(scores["saturated"].sum()),
        "unflagged": {
            "about": "saturated scores dropped: each metric ranks only the models whose "
            "score is not flagged on that task; `tasks` counts the tasks it still ranks",
            "mean_tau_w": _means(summaries[(GROUND_TRUTH_LINEAR_PROBE, "unflagged")], "tau_w"),
            "mean_tau_w_fine_tune": _means(
                summaries[(GROUND_TRUTH_FINE_TUNE, "unflagged")], "tau_w"
            ),
            "tasks": _means(summaries[(GROUND_TRUTH_LINEAR_PROBE, "unflagged")], "tasks"),
        },
        "skipped": evaluation.filter(pl.col("skipped") != "")
        .select("ground_truth", "scores", "task", "metric", "skipped")
        .sort("ground_truth", "scores", "task", "metric")
        .to_dicts(),
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    with mlflow_run(settings, "transferability", "transferability-benchmark"):
        mlflow.log_params(
            {
                "metrics": ",".join(names),
                "seed": seed,
                "ground_truth": ",".join(result["ground_truth"]),
            }
        )
        mlflow.log_metrics({f"tau_w.{m}": v for m, v in result["mean_tau_w"].items()})
        mlflow.log_metrics(
            {f"tau_w_fine_tune.{m}": v for m, v in result["mean_tau_w_fine_tune"].items()}
        )
        mlflow.log_table(evaluation.to_pandas(), artifact_file="evaluation.json")
        mlflow.log_table(truth.to_pandas(), artifact_file="linear_probe.json")
        mlflow.log_table(fine_tuned.to_pandas(), artifact_file="fine_tune.json")
        figure = heatmap(
            evaluation.filter(
                (pl.col("ground_truth") == GROUND_TRUTH_LINEAR_PROBE) & (pl.col("scores") == "all")
            ),
            "metric",
            "task",
            "tau_w",
            "weighted Kendall tau vs linear probe",
            vmin=-1,
        )
        mlflow.log_figure(figure, "tau_w_per_metric_per_task.png")
    print("against the linear probe:", summary, sep="\n")
    print("against the fine-tune:", fine_tune_summary, sep="\n")
    return result


def _means(summary: pl.DataFrame, measure: str) -> dict[str, float | None]:
    """metric -> its mean `measure`, rounded (None where every task was skipped)."""
    return {
        metric: None if value is None else round(value, 4)
        for metric, value in summary.select("metric", measure).iter_rows()
    }


if __name__ == "__main__":
    apply_offline_defaults()
    transferability_benchmark_flow()
