import json

import mlflow
import polars as pl
import pytest

from flows.identification import identification_flow
from hubscout.identification.benchmark import BANDWIDTHS, auroc
from hubscout.identification.specs import GeneratorSpecification
from tasks.identification import STYLE_WEIGHTS


def test_identification_flow_builds_specs_and_benchmarks(hub_summary, flow_settings, flow_data_dir):
    report = flow_data_dir / "identification.json"
    identification_flow(flow_data_dir / "params.yaml", report)
    result = json.loads(report.read_text())
    assert result["generators"] == 2 and result["generator_tasks"] == 2 * 4 * 4
    assert result["rkme_models"] == 4
    assert {f"{m}@k{k}" for m in ("pmi", "random") for k in (1, 2, 4, 8)} <= set(
        result["generators_by_k"]
    )
    out = flow_settings.data_dir / "identification"
    assert len(list((out / "generators").glob("*.spec.npz"))) == 2
    assert len(list((out / "rkme").glob("*.rkme.npz"))) == 4
    tasks = pl.read_parquet(out / "generator_tasks.parquet")
    assert set(tasks["method"]) == {"pmi", "pmi_with_prompt", "nearest_mean", "random", "oracle"}
    pmi_k1 = tasks.filter((pl.col("method") == "pmi") & (pl.col("k") == 1))
    assert result["generators_by_k"]["pmi@k1"]["top1"] == round((pmi_k1["rank"] == 0).mean(), 4)
    assert set(result["generators_by_k"]["oracle@k1"]) == {"fd"}  # no by-construction top-1
    assert tasks.filter(pl.col("method") == "oracle")["rank"].is_null().all()
    # open set: each of the 2 generators left out in turn, 4 held-out prompts, the examples
    # of both generators, and each prompt rendered by the world; the AUROC recomputed from
    # the stored tasks, at the bandwidth chosen on the tuning prompts
    open_set = pl.read_parquet(out / "open_set.parquet")
    assert open_set.height == 2 * 4 * 2 + 4 and open_set["from_hub"].sum() == 8
    assert (open_set["generator"] == "world").sum() == 4
    assert result["open_set"]["bandwidth"] in BANDWIDTHS
    expected = round(auroc(open_set["score"].to_numpy(), open_set["from_hub"].to_numpy()), 4)
    assert result["open_set_auroc"] == result["open_set"]["held_out"]["auroc"] == expected
    calibration = result["open_set"]["calibration"]
    threshold = -calibration["intercept"] / calibration["slope"]
    assert calibration["threshold"] == pytest.approx(threshold, rel=1e-4)  # of rounded terms
    # RKME's open set: each training slice left out in turn, 5 draws of every model's queries
    rkme_open = pl.read_parquet(out / "rkme_open_set.parquet")
    slices = json.loads((out / "rkme" / "slices.json").read_text())
    assert rkme_open.height == len(set(slices.values())) * 4 * 5
    expected = round(auroc(rkme_open["score"].to_numpy(), rkme_open["from_hub"].to_numpy()), 4)
    assert result["rkme_open_set_auroc"] == result["rkme_open_set"]["held_out"]["auroc"]
    assert result["rkme_open_set_auroc"] == expected
    tuning = result["tuning"]
    # every VLM at every style weight, best first: the first is the reference
    top1 = tuning["reference_top1"]
    assert sorted(top1) == sorted(
        f"{m}@s{w}" for m in ("vlm-colours", "vlm-dark") for w in STYLE_WEIGHTS
    )
    ranked = [(row["top1"], row["top1_with_prompt"]) for row in top1.values()]
    assert ranked == sorted(ranked, reverse=True)
    # the encoder: the best by its own embedding (weight 0); its weight: its best row
    encoder = result["reference_encoder"]
    assert encoder == next(key for key in top1 if key.endswith("@s0.0")).split("@")[0]
    own = [key for key in top1 if key.startswith(f"{encoder}@")]
    assert f"{encoder}@s{tuning['style_weight']}" == own[0]
    spec = GeneratorSpecification.load(out / "generators" / "gen-dark.spec.npz")
    assert spec.style_weight == tuning["style_weight"]
    reference = json.loads((out / "reference.json").read_text())
    assert reference == {
        "encoder": f"starter:{result['reference_encoder']}",
        "style_weight": tuning["style_weight"],
    }
    assert tuning["tuning_prompts"] == 4 and tuning["pmi"]["grid_points"] == 6 * 5 + 6 * 5

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["identification"], output_format="list")[0]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert "generator_top1_vs_k.png" in logged
