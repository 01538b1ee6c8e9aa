import json

import mlflow
import polars as pl

from flows.build_starter_hub import build_starter_hub_flow
from hubscout.models.starter_loader import read_manifest


def test_hub_flow_trains_on_ray_then_reuses_what_it_saved(
    world_summary, hub_summary, flow_settings, flow_data_dir, capfd
):
    report = flow_data_dir / "hub.json"
    summary = hub_summary
    hub = flow_settings.data_dir / "hub"
    manifest = read_manifest(hub / "manifest.json")
    names = {entry.name for entry in manifest.models}
    assert len(names) == summary["models"] == 6
    assert set(manifest.planned) == names and manifest.complete
    assert summary["trained_now"] == sorted(names)
    table = pl.read_parquet(hub / "zero_shot.parquet")
    assert table.height == 2 * world_summary["tasks"]
    written = report.read_text()
    means = table.group_by("model").agg(pl.col("accuracy").mean())
    document = json.loads(written)
    assert document["mean_zero_shot_accuracy"] == {
        row["model"]: round(row["accuracy"], 4) for row in means.to_dicts()
    }
    accuracy = {(m, t): round(a, 4) for m, t, a in table.select("model", "task", "accuracy").rows()}
    assert len(document["zero_shot"]) == world_summary["tasks"]
    assert {
        (model, task): value
        for task, models in document["zero_shot"].items()
        for model, value in models.items()
    } == accuracy
    for task, best in document["best_per_task"].items():
        assert best["accuracy"] == max(document["zero_shot"][task].values())
        assert document["zero_shot"][task][best["model"]] == best["accuracy"]
    assert "seconds" not in written and "trained_now" not in written
    assert sorted((hub / "contact").glob("*.png"))[0].name == "gen-dark.png"
    fidelity = document["generator_fidelity"]
    assert sorted(fidelity) == ["chance", "gen-dark", "gen-light"]
    assert fidelity["chance"] == 0.0333  # 1 of the 30 symbols

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["starter-hub"], output_format="list")[0]
    assert run.data.metrics["distinct_best_vlms"] == summary["distinct_best_vlms"]
    assert run.data.metrics["vlm-colours.steps"] == 100
    assert run.data.metrics["vlm-colours.image_steps"] == 150
    for name in ("gen-dark", "gen-light"):
        assert round(run.data.metrics[f"{name}.fidelity"], 4) == fidelity[name]["samples"]
        assert round(run.data.metrics[f"{name}.fidelity_real"], 4) == fidelity[name]["real"]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"zero_shot_heatmap.png", "zero_shot.json"} <= logged

    sheets = {path: path.stat().st_mtime_ns for path in (hub / "contact").glob("*.png")}
    capfd.readouterr()
    again = build_starter_hub_flow(flow_data_dir / "params.yaml", report)
    assert again["trained_now"] == []
    said = capfd.readouterr().err
    assert "[6/6 models ready," in said
    assert "generator fidelity: cached for these 2 generators" in said  # no judge trained
    assert "judge trained" not in said
    assert said.count("(unchanged)") == 2  # contact sheets
    assert {path: path.stat().st_mtime_ns for path in sheets} == sheets
    assert report.read_text() == written  # a rebuild that trains nothing rewrites the same report
