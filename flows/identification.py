"""Flow: build the identification specs and benchmark identification on the starter hub.

Run by the DVC stage `identification` (`python -m flows.identification`). Generator specs
describe every generator's images for a shared prompt set by the reference encoder's
embedding beside their style statistics (both chosen on tuning prompts); RKME
specs summarise every VLM's and classifier's training slice in the space of an encoder of
their own (chosen on tuning queries of every slice). The benchmark identifies
generators from k example images of held-out prompts (k in 1, 2, 4, 8) and models from
unlabeled samples of their slice. Writes the tables, what it tuned (the encoders, PMI's
parameters, the open-set calibrations: data/identification/tuned.json, which publish_hub
publishes), reports/identification.json, and logs an accuracy-versus-k plot to MLflow.
"""

import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import polars as pl
from prefect import flow

from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.identification.benchmark import (
    KS,
    OPEN_SET_K,
    RKME_OPEN_SET_N,
    OpenSetCalibration,
    generator_benchmark,
    mixture_benchmark,
    open_set_summary,
    open_set_tasks,
    rkme_benchmark,
    rkme_open_set_tasks,
    summarise_generators,
    tune_open_set,
    tune_pmi,
)
from hubscout.identification.pmi import PMIParameters, identify
from hubscout.identification.specs import (
    describe_images,
    render_prompts,
    world_prompt_scenes,
    world_prompts,
)
from hubscout.models import load_model
from hubscout.models.starter_loader import read_manifest
from hubscout.params import IdentificationParams, read_section
from hubscout.settings import Settings, apply_offline_defaults
from hubscout.tuning import EncoderChoice, OpenSetTuning, PmiTuning, Tuned, write_tuned
from tasks.identification import (
    generate_images,
    generator_specs,
    reference_choice,
    rkme_encoder_choice,
)
from tasks.progress import Steps
from tasks.tracking import mlflow_run

PHASES = (
    "generator images",
    "reference encoder",
    "RKME encoder",
    "generator specs and PMI tuning",
    "generator benchmark and open set",
    "RKME benchmark and open set",
    "tables, report and MLflow",
)


@flow(name="identification", log_prints=True)
def identification_flow(
    params_file: Path = Path("params.yaml"), report: Path = Path("reports/identification.json")
) -> dict:
    """Build the specs, run both benchmarks, write tables and the report, log to MLflow;
    a progress line as each of PHASES ends."""
    with Steps("identification phases", PHASES) as phases:
        return _identification(params_file, report, phases)


def _identification(params_file: Path, report: Path, phases: Steps) -> dict:
    settings = Settings()
    params = read_section(params_file, "identification", IdentificationParams)
    seed = params.seed
    world = World(settings.layout.world)
    entries = read_manifest(settings.layout.hub_manifest).models
    vlm_names = [e.name for e in entries if e.kind == "vlm"]
    for key in ("reference_encoder", "rkme_encoder"):
        if getattr(params, key) not in (None, *vlm_names):
            raise ConfigError(
                f"params.yaml names the {key} {getattr(params, key)!r}, which is not a VLM of "
                f"the starter hub: name one of {', '.join(vlm_names)}, or null"
            )
    prompt_scenes = world_prompt_scenes(4 * params.held_out_prompts, seed + 1)
    spec_prompts = world_prompts(params.spec_prompts, seed)
    held_prompts = [p for p in prompt_scenes if p not in spec_prompts][: params.held_out_prompts]
    tuning_scenes = world_prompt_scenes(4 * params.tuning_prompts, seed + 3)
    tuning_prompts = [p for p in tuning_scenes if p not in spec_prompts and p not in held_prompts][
        : params.tuning_prompts
    ]
    generator_names = [e.name for e in entries if e.kind == "generator"]
    generators = {
        name: load_model(f"starter:{name}", manifest=settings.layout.hub_manifest)
        for name in generator_names
    }
    generator_hashes = {name: generator.content_hash for name, generator in generators.items()}
    per_prompt = params.examples_per_prompt
    images = generate_images(
        generators,
        {
            "spec": (spec_prompts, params.per_prompt, seed),
            "held_out": (held_prompts, per_prompt, seed + 1),
            "fresh": (held_prompts, per_prompt, seed + 2),
            "tuning": (tuning_prompts, per_prompt, seed + 3),
        },
        settings,
    )
    phases.done(0)
    choice = reference_choice(
        vlm_names,
        generator_hashes,
        spec_prompts,
        images["spec"],
        images["tuning"],
        tuning_prompts,
        settings.layout.hub_manifest,
        seed,
    )
    encoder_name = params.reference_encoder or choice["model"][0]
    style_weight = choice.filter(pl.col("model") == encoder_name)["style_weight"][0]
    encoder = load_model(f"starter:{encoder_name}", manifest=settings.layout.hub_manifest)
    phases.done(1)
    models = [e.name for e in entries if e.kind in ("vlm", "classifier")]
    rkme_choice = rkme_encoder_choice(
        vlm_names, models, world, params, settings.layout.hub_manifest, settings.layout.specs
    )
    rkme_encoder_name = params.rkme_encoder or rkme_choice.table["model"][0]
    phases.done(2)
    described = {
        part: {name: describe_images(encoder, batch, style_weight) for name, batch in sets.items()}
        for part, sets in images.items()
    }
    specs = generator_specs(
        encoder, style_weight, generator_hashes, spec_prompts, described["spec"], settings
    )
    held_out, fresh, tuning = described["held_out"], described["fresh"], described["tuning"]
    world_held_out, world_tuning = (
        describe_images(
            encoder, render_prompts([scenes[p] for p in prompts], per_prompt, seed), style_weight
        )
        for scenes, prompts in ((prompt_scenes, held_prompts), (tuning_scenes, tuning_prompts))
    )
    grid = tune_pmi(specs, tuning, encoder.encode_texts(tuning_prompts).astype(np.float64), seed)
    best_pmi = grid.filter(pl.col("method") == "pmi").row(0, named=True)
    best_text = grid.filter(
        (pl.col("method") == "pmi_with_prompt") & (pl.col("bandwidth") == best_pmi["bandwidth"])
    ).row(0, named=True)
    parameters = PMIParameters(
        best_pmi["image_temperature"], best_text["text_temperature"], best_pmi["bandwidth"]
    )
    phases.done(3)
    prompt_embeddings = encoder.encode_texts(held_prompts).astype(np.float64)
    tasks_table = generator_benchmark(
        specs, held_out, fresh, prompt_embeddings, KS, seed, parameters
    )
    generator_summary = summarise_generators(tasks_table)
    # open set: its bandwidth chosen and its calibration fitted on the tuning prompts,
    # reported on the held-out ones
    open_parameters, open_tuning = tune_open_set(specs, tuning, world_tuning, seed + 5, parameters)
    open_held_out = open_set_tasks(
        specs, held_out, world_held_out, OPEN_SET_K, seed + 6, open_parameters
    )
    calibration = OpenSetCalibration.fit(open_tuning["score"], open_tuning["from_hub"])
    open_set = _open_set_report(
        "examples of a generator left out of the hub, and images of the same prompts "
        "rendered straight from the world, against examples of hub generators, "
        f"k={OPEN_SET_K}, scored by the best generator's log S at the bandwidth whose AUROC "
        "on the tuning prompts is best; 'none of the hub's generators' below P(from the "
        "hub) = 1/2; bandwidth and calibration chosen on the tuning prompts",
        open_tuning,
        open_held_out,
        calibration,
    )
    open_set["bandwidth"] = open_parameters.bandwidth
    by_pmi = f"PMI top-1 on {len(tuning_prompts)} tuning prompts"
    by_search = f"RKME search of {params.rkme_tuning_queries} tuning queries per slice"
    reference_basis = "params.yaml" if params.reference_encoder else by_pmi
    rkme_basis = "params.yaml" if params.rkme_encoder else by_search
    tuned: list[Tuned] = [
        EncoderChoice(
            chosen_on=f"reference encoder: {reference_basis}; style weight: {by_pmi}; "
            f"RKME encoder: {rkme_basis}",
            reference_encoder=encoder_name,
            style_weight=style_weight,
            rkme_encoder=rkme_encoder_name,
        ),
        PmiTuning(
            chosen_on=f"a {grid.height}-point grid on {len(tuning_prompts)} tuning prompts",
            image_temperature=parameters.image_temperature,
            text_temperature=parameters.text_temperature,
            bandwidth=parameters.bandwidth,
        ),
        OpenSetTuning(
            kind="generator_open_set",
            chosen_on=f"{open_tuning.height} open-set tasks of the tuning prompts",
            slope=calibration.slope,
            intercept=calibration.intercept,
            bandwidth=open_parameters.bandwidth,
        ),
    ]

    start = time.perf_counter()
    examples = generators[generator_names[0]].generate(held_prompts[:1], 4, seed)[0]
    identify(describe_images(encoder, examples, style_weight), specs, None, parameters)
    identify_seconds = time.perf_counter() - start

    phases.done(4)
    rkme = rkme_choice.parts[rkme_encoder_name]  # fitted once, while choosing the encoder
    rkmes, slices, queries = rkme.specs, rkme.slices, rkme.queries
    searches = rkme_benchmark(rkmes, slices, queries, seed=seed)
    # open set for RKME: calibrated on the first half of each model's query images, reported
    # on the second half
    halves = [{m: q[: len(q) // 2] for m, q in queries.items()}]
    halves.append({m: q[len(q) // 2 :] for m, q in queries.items()})
    rkme_open_tuning, rkme_open_held_out = (
        rkme_open_set_tasks(rkmes, slices, half, rkme.disjoint, seed=seed + 7 + i)
        for i, half in enumerate(halves)
    )
    rkme_about = (
        "queries of a training slice that no hub model was trained on (the hub: only the "
        "models trained on none of its images; slices without one skipped) against queries "
        f"of those models, n={RKME_OPEN_SET_N} images, scored by minus the smallest MMD^2; "
        "calibrated on the first half of each model's query images, reported on the second"
    )
    if rkme_open_held_out.height:
        rkme_calibration = OpenSetCalibration.fit(
            rkme_open_tuning["score"], rkme_open_tuning["from_hub"]
        )
        rkme_open_set = _open_set_report(
            rkme_about, rkme_open_tuning, rkme_open_held_out, rkme_calibration
        )
        tuned.append(
            OpenSetTuning(
                kind="rkme_open_set",
                chosen_on=f"{rkme_open_tuning.height} RKME open-set tasks of the first half "
                "of each model's query images",
                slope=rkme_calibration.slope,
                intercept=rkme_calibration.intercept,
            )
        )
    else:
        rkme_open_set = {
            "about": rkme_about,
            "unmeasured": "every model was trained on part of every slice",
        }
    mixtures = mixture_benchmark(rkmes, slices, queries, seed=seed)
    search_summary = (
        searches.group_by("n")
        .agg(pl.col("top1_model").mean(), pl.col("top1_slice").mean(), pl.len().alias("searches"))
        .sort("n")
    )

    phases.done(5)
    out = settings.layout.identification
    write_tuned(out / "tuned.json", tuned)
    tasks_table.write_parquet(out / "generator_tasks.parquet")
    searches.write_parquet(out / "rkme_searches.parquet")
    open_held_out.write_parquet(out / "open_set.parquet")
    rkme_open_held_out.write_parquet(out / "rkme_open_set.parquet")
    mixtures.write_parquet(out / "rkme_mixtures.parquet")
    result = {
        "reference_encoder": encoder_name,
        "tuning": {
            "about": "the reference encoder and PMI's parameters chosen on tuning prompts "
            "disjoint from the spec and held-out prompts, never on what is reported below",
            "reference_top1": {
                f"{m}@s{w}": {"top1": round(a, 4), "top1_with_prompt": round(b, 4)}
                for m, w, a, b in choice.iter_rows()
            },
            "style_weight": style_weight,
            "tuning_prompts": len(tuning_prompts),
            "pmi": {
                "image_temperature": parameters.image_temperature,
                "text_temperature": parameters.text_temperature,
                "bandwidth": parameters.bandwidth,
                "top1_pmi": round(best_pmi["top1"], 4),
                "top1_pmi_with_prompt": round(best_text["top1"], 4),
                "grid_points": grid.height,
            },
        },
        "generators": len(generator_names),
        "generator_tasks": tasks_table.filter(pl.col("method") == "pmi").height,
        "generators_by_k": {
            f"{method}@k{k}": {"fd": round(fd, 4)}
            if method == "oracle"  # the oracle identifies nothing: only its distance counts
            else {"top1": round(top1, 4), "top3": round(top3, 4), "fd": round(fd, 4)}
            for method, k, _, top1, top3, fd in generator_summary.iter_rows()
        },
        "open_set_auroc": open_set["held_out"]["auroc"],
        "open_set": open_set,
        "rkme_encoder": rkme_encoder_name,
        "rkme_tuning": {
            "about": "RKME's encoder chosen by the mean of slice top-1 and open-set AUROC "
            "on tuning queries of every slice, in no spec and no reported query",
            "tuning_queries": params.rkme_tuning_queries,
            "by_encoder": {
                row["model"]: {
                    key: None if value is None else round(value, 4)
                    for key, value in row.items()
                    if key != "model"
                }
                for row in rkme_choice.table.iter_rows(named=True)
            },
        },
        "rkme_models": len(models),
        "rkme_distinct_slices": len(set(slices.values())),
        "rkme_by_n": {
            f"n{n}": {"top1_model": round(a, 4), "top1_slice": round(b, 4)}
            for n, a, b, _ in search_summary.iter_rows()
        },
        "rkme_open_set_auroc": rkme_open_set.get("held_out", {}).get("auroc"),
        "rkme_open_set": rkme_open_set,
        "rkme_mixture_weight_on_true_slices": round(
            float(mixtures["weight_on_true_slices"].mean()), 4
        ),
    }
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2) + "\n")
    with mlflow_run(settings, "identification", "identification-benchmark"):
        mlflow.log_params(
            {
                "reference_encoder": encoder_name,
                "style_weight": style_weight,
                "rkme_encoder": rkme_encoder_name,
                "seed": seed,
            }
        )
        mlflow.log_metric("identify_seconds_k4", identify_seconds)  # timings stay out of DVC
        for method, k, _, top1, top3, _ in generator_summary.iter_rows():
            if method != "oracle":
                mlflow.log_metrics({f"{method}.top1.k{k}": top1, f"{method}.top3.k{k}": top3})
        mlflow.log_table(grid.to_pandas(), artifact_file="pmi_tuning_grid.json")
        mlflow.log_table(rkme_choice.table.to_pandas(), artifact_file="rkme_encoder_choice.json")
        mlflow.log_metrics(
            {f"open_set.{key}": value for key, value in open_set["held_out"].items()}
        )
        mlflow.log_table(open_held_out.to_pandas(), artifact_file="open_set.json")
        mlflow.log_metrics(
            {
                f"rkme_open_set.{key}": value
                for key, value in rkme_open_set.get("held_out", {}).items()
            }
        )
        mlflow.log_table(generator_summary.to_pandas(), artifact_file="generators_by_k.json")
        mlflow.log_table(search_summary.to_pandas(), artifact_file="rkme_by_n.json")
        figure, axes = plt.subplots(figsize=(6, 4))
        ranked = generator_summary.filter(pl.col("method") != "oracle")
        for (method,), part in ranked.group_by("method", maintain_order=True):
            axes.plot(part["k"], part["top1"], marker="o", label=method)
        axes.set_xscale("log", base=2)
        axes.set_xlabel("example images k")
        axes.set_ylabel("top-1 accuracy")
        axes.set_ylim(0, 1.05)
        axes.legend(fontsize=7)
        figure.tight_layout()
        mlflow.log_figure(figure, "generator_top1_vs_k.png")
    print(generator_summary)
    print(search_summary)
    phases.done(6)
    return result


def _open_set_report(
    about: str, tuning: pl.DataFrame, held_out: pl.DataFrame, calibration: OpenSetCalibration
) -> dict:
    """The calibration (P(from the hub) = expit(slope * score + intercept)) fitted on the
    tuning tasks, rounded for people, and the AUROC and error rates of both sets of tasks."""
    return {
        "about": about,
        "calibration": {
            "slope": round(calibration.slope, 6),
            "intercept": round(calibration.intercept, 6),
            "threshold": round(calibration.threshold, 6),
        },
        "tuning": _rounded(open_set_summary(tuning, calibration)),
        "held_out": _rounded(open_set_summary(held_out, calibration)),
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in values.items()}


if __name__ == "__main__":
    apply_offline_defaults()
    identification_flow()
