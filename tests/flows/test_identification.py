import json

import mlflow
import numpy as np
import polars as pl
import pytest

from flows.identification import PHASES, identification_flow
from hubscout.data.store import World
from hubscout.identification.benchmark import BANDWIDTHS, auroc
from hubscout.identification.rkme import fit_rkme
from hubscout.identification.slices import split_slice, training_indices
from hubscout.identification.specs import GeneratorSpecification
from hubscout.identification.store import read_rkme, rkme_spec_path
from hubscout.params import IdentificationParams, read_section
from hubscout.starter.catalog import VLMS
from hubscout.tuning import read_tuned
from tasks.identification import STYLE_WEIGHTS, pool_gamma
from tests.conftest import load_hub_model


def test_identification_flow_builds_specs_and_benchmarks(
    hub_summary, flow_settings, flow_data_dir, capfd
):
    report = flow_data_dir / "identification.json"
    capfd.readouterr()
    identification_flow(flow_data_dir / "params.yaml", report)
    said = capfd.readouterr().err
    for count, phase in enumerate(PHASES, start=1):
        assert f"[{count}/7 identification phases, " in said and f"] {phase}\n" in said
    assert "[2/2 RKME encoders scored, " in said and "[2/2 reference encoders scored, " in said
    result = json.loads(report.read_text())
    assert result["generators"] == 2 and result["generator_tasks"] == 2 * 4 * 4
    assert result["rkme_models"] == 4
    assert {f"{m}@k{k}" for m in ("pmi", "random") for k in (1, 2, 4, 8)} <= set(
        result["generators_by_k"]
    )
    out = flow_settings.data_dir / "identification"
    specs = flow_settings.layout.specs  # the chosen encoder's generator specs; RKME's of all
    assert len(list((specs / "generators").glob("*/*.spec.npz"))) == 2
    # one per training slice in each candidate's space (models of one slice share their spec)
    assert len(list((specs / "rkme").glob("*.npz"))) == 2 * result["rkme_distinct_slices"] == 4
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
    # RKME's open set: the tiny hub's vlm-colours and both classifiers saw the whole pool, so
    # every model was trained on part of every slice and there is no open set to measure
    # (tests/unit/identification/test_benchmark.py measures one)
    assert pl.read_parquet(out / "rkme_open_set.parquet").height == 0
    assert result["rkme_open_set_auroc"] is None
    assert result["rkme_open_set"]["unmeasured"] == "every model was trained on part of every slice"
    tuning = result["tuning"]
    # every VLM at every style weight, best first: the first is the reference
    top1 = tuning["reference_top1"]
    assert sorted(top1) == sorted(
        f"{m}@s{w}" for m in ("vlm-colours", "vlm-dark") for w in STYLE_WEIGHTS
    )
    ranked = [(row["top1"], row["top1_with_prompt"]) for row in top1.values()]
    assert ranked == sorted(ranked, reverse=True)
    # the encoder: the best row's; its weight: its best row
    encoder = result["reference_encoder"]
    assert encoder == next(iter(top1)).split("@")[0]
    own = [key for key in top1 if key.startswith(f"{encoder}@")]
    assert f"{encoder}@s{tuning['style_weight']}" == own[0]
    [path] = (specs / "generators").glob("*/gen-dark.spec.npz")
    spec = GeneratorSpecification.load(path)
    assert spec.style_weight == tuning["style_weight"]
    assert spec.depends_on["encoder"] == f"starter:{encoder}"
    tuned = {t.kind: t for t in read_tuned(out / "tuned.json")}
    assert set(tuned) == {"encoders", "pmi", "generator_open_set"}  # no RKME open set here
    choice = tuned["encoders"]
    assert (choice.reference_encoder, choice.style_weight, choice.rkme_encoder) == (
        result["reference_encoder"], tuning["style_weight"], result["rkme_encoder"],
    )  # fmt: skip
    pmi = tuning["pmi"]
    assert (pmi["image_temperature"], pmi["text_temperature"], pmi["bandwidth"]) == (
        tuned["pmi"].image_temperature, tuned["pmi"].text_temperature, tuned["pmi"].bandwidth,
    )  # fmt: skip
    assert tuned["generator_open_set"].bandwidth == result["open_set"]["bandwidth"]
    report_calibration = result["open_set"]["calibration"]
    assert report_calibration["slope"] == round(tuned["generator_open_set"].slope, 6)
    # RKME's encoder: the VLM whose space searches the tuning queries best, by the mean of
    # slice top-1 and open-set AUROC
    by_encoder = result["rkme_tuning"]["by_encoder"]
    assert sorted(by_encoder) == ["vlm-colours", "vlm-dark"]
    assert all(row["open_set_auroc"] is None for row in by_encoder.values())
    assert result["rkme_encoder"] == next(iter(by_encoder))  # best first
    scores = [row["score"] for row in by_encoder.values()]
    assert scores == sorted(scores, reverse=True)
    for row in by_encoder.values():  # without an open set: slice top-1 alone
        assert row["score"] == row["top1_slice"]
    # the specs on disk are in that encoder's space: one refitted by hand from its slice
    params = read_section(flow_data_dir / "params.yaml", "identification", IdentificationParams)
    world = World(flow_settings.data_dir / "world")
    encoder = load_hub_model(f"starter:{result['rkme_encoder']}")
    vlm_dark = next(spec for spec in VLMS if spec.name == "vlm-dark")
    parts = split_slice(
        training_indices(vlm_dark, world), params.rkme_samples, params.rkme_queries,
        params.rkme_tuning_queries, params.seed,
    )  # fmt: skip
    gamma = pool_gamma(encoder, world, params.seed)
    refitted = fit_rkme(
        encoder.encode_images(world.pool_images[parts.spec]), params.rkme_points, gamma, params.seed
    )
    images = world.pool_images[parts.spec]
    stored = read_rkme(
        rkme_spec_path(specs, encoder.content_hash, images, params.rkme_points, gamma, params.seed),
        gamma,
    )
    np.testing.assert_allclose(stored.points, refitted.points, rtol=1e-5, atol=1e-7)
    assert tuning["tuning_prompts"] == 4 and tuning["pmi"]["grid_points"] == 6 * 5 + 6 * 5

    mlflow.set_tracking_uri(flow_settings.mlflow_uri)
    run = mlflow.search_runs(experiment_names=["identification"], output_format="list")[0]
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert "generator_top1_vs_k.png" in logged
