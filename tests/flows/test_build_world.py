import mlflow

from hubscout.data.store import World


def test_world_flow_builds_validates_and_logs(world_summary, flow_settings):
    world_dir = flow_settings.data_dir / "world"
    assert world_summary["nodes"] == World(world_dir).nodes.height >= 60
    sheets = sorted(p.name for p in (world_dir / "contact").glob("*.png"))
    assert len(sheets) == world_summary["tasks"] >= 15

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    runs = mlflow.search_runs(experiment_names=["world"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.metrics["nodes"] == world_summary["nodes"]
    assert run.data.metrics["expectations_evaluated"] == 13
    assert run.data.params["probes_per_leaf"] == "10"
    artifacts = mlflow.artifacts.list_artifacts(
        run_id=run.info.run_id, artifact_path="contact_sheets"
    )
    assert sorted(a.path.split("/")[-1] for a in artifacts) == sheets
    assert str(flow_settings.mlflow_artifact_dir) in run.info.artifact_uri
