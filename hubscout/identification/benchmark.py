"""Identification benchmarks on embeddings: generators from example images (PMI against the
nearest-mean and random baselines) and models from unlabeled samples of their slice (RKME).

Generator tasks: a true generator g, a held-out prompt q (not in the spec prompt set) and k
of g's images for q. Scored by top-1 and top-3 accuracy per k, and by the Frechet distance,
in the reference encoder's space, between the identified generator's images for q and the
examples (lower is better; the true generator's distance is the floor).

Open set: examples that no hub generator made (a generator left out of the hub, or images
rendered straight from the world) against examples one did, by the best generator's log S;
scored by AUROC, with a logistic calibration fitted on tuning prompts that turns a score
into P(from the hub) and answers "none of the hub's generators" below one half. The same
for RKME search: data from a training slice that no hub model was trained on (the hub then
holds only the models trained on none of its images), against data from one that a hub
model was.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import expit
from scipy.stats import rankdata

from hubscout.identification.pmi import PMI_DEFAULTS, PMIParameters, identify, nearest_mean
from hubscout.identification.rkme import RKME, mixture, rank_by_mmd
from hubscout.identification.specs import GeneratorSpecification

KS = (1, 2, 4, 8)
OPEN_SET_K = 4  # examples per open-set task: the k the headline figures use
RKME_SAMPLE_SIZES = (5, 20, 50)
RKME_OPEN_SET_N = 20  # images per open-set RKME query: the middle of RKME_SAMPLE_SIZES
# The grid PMI's parameters are tuned on (tuning prompts only).
IMAGE_TEMPERATURES = (0.002, 0.005, 0.01, 0.02, 0.05)
BANDWIDTHS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)
TEXT_TEMPERATURES = (0.001, 0.002, 0.005, 0.01, 0.02)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) of two samples [n, D]
    (biased covariances, so one sample has covariance 0). The symmetric form stays real
    and finite when the covariances are singular, as they are for a few samples."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    cov_a, cov_b = (
        np.cov(x.T, bias=True) if len(x) > 1 else np.zeros((x.shape[1],) * 2) for x in (a, b)
    )
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0.0))) @ vectors.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0.0)).sum()
    gap = a.mean(axis=0) - b.mean(axis=0)
    return float(gap @ gap + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def generator_benchmark(
    specs: Mapping[str, GeneratorSpecification],
    held_out: Mapping[str, np.ndarray],
    fresh: Mapping[str, np.ndarray],
    prompt_embeddings: np.ndarray,
    ks: Sequence[int] = KS,
    seed: int = 0,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> pl.DataFrame:
    """One row per (task, method): generator, prompt, k, method, rank (0 = first), fd.

    `held_out[g]` holds g's embeddings [Q, n, D] for the Q held-out prompts (examples are
    drawn from them); `fresh[g]` other images of g for the same prompts, the identified
    generator's outputs in the Frechet distance; `prompt_embeddings` [Q, D] the prompts'
    text embeddings (for "pmi_with_prompt"). The "oracle" row holds only the true
    generator's Frechet distance, the floor (its rank is null: it identifies nothing).
    """
    rng = np.random.default_rng(seed)
    names = sorted(specs)
    rows = []
    for true in names:
        for prompt in range(prompt_embeddings.shape[0]):
            for k in ks:
                pick = rng.choice(held_out[true].shape[1], size=k, replace=False)
                examples = held_out[true][prompt][pick].astype(np.float64)
                distance = {g: frechet_distance(fresh[g][prompt], examples) for g in names}
                with_prompt = identify(examples, specs, prompt_embeddings[prompt], parameters)
                rankings = {
                    "pmi": [r.generator for r in identify(examples, specs, None, parameters)],
                    "pmi_with_prompt": [r.generator for r in with_prompt],
                    "nearest_mean": nearest_mean(examples, specs),
                    "random": list(rng.permutation(names)),
                }
                for method, ranking in rankings.items():
                    rows.append(
                        (true, prompt, k, method, ranking.index(true), distance[ranking[0]])
                    )
                rows.append((true, prompt, k, "oracle", None, distance[true]))
    schema = ["generator", "prompt", "k", "method", "rank", "fd"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def open_set_tasks(
    specs: Mapping[str, GeneratorSpecification],
    images: Mapping[str, np.ndarray],
    world: np.ndarray,
    k: int = OPEN_SET_K,
    seed: int = 0,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> pl.DataFrame:
    """Examples that no hub generator made, against examples that one did. Leaving each
    generator out of the hub in turn: for every left-out generator g and prompt q, k of each
    generator's images for q (`images[g]` [Q, n, D]) are scored against the hub without g by
    the best generator's log S; only g's examples are not the hub's. And k images of each
    prompt rendered straight from the world (`world` [Q, n, D]) against the whole hub. One
    row per task: left_out (None for the whole hub), generator ("world" for the renders),
    prompt, from_hub, score."""
    rng = np.random.default_rng(seed)
    names = sorted(specs)
    prompts = world.shape[0]
    rows = []

    def score(hub: Mapping[str, GeneratorSpecification], source: np.ndarray) -> float:
        examples = source[rng.choice(source.shape[0], size=k, replace=False)]
        return identify(examples.astype(np.float64), hub, None, parameters)[0].score

    for left_out in names:
        hub = {name: specs[name] for name in names if name != left_out}
        for prompt in range(prompts):
            for source in names:
                rows.append(
                    (
                        left_out,
                        source,
                        prompt,
                        source != left_out,
                        score(hub, images[source][prompt]),
                    )
                )
    for prompt in range(prompts):
        rows.append((None, "world", prompt, False, score(specs, world[prompt])))
    schema = {
        "left_out": pl.String,
        "generator": pl.String,
        "prompt": pl.Int64,
        "from_hub": pl.Boolean,
        "score": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def tune_open_set(
    specs: Mapping[str, GeneratorSpecification],
    tuning: Mapping[str, np.ndarray],
    world: np.ndarray,
    seed: int = 0,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> tuple[PMIParameters, pl.DataFrame]:
    """The kernel bandwidth whose open-set AUROC on the tuning prompts is best (ties: the
    earliest in BANDWIDTHS), with `parameters`' temperatures: the bandwidth that ranks
    generators best need not be the one whose score tells hub examples from others. Returns
    the parameters and the tasks scored with them (the calibration's data)."""
    best: tuple[float, PMIParameters, pl.DataFrame] | None = None
    for bandwidth in BANDWIDTHS:
        candidate = PMIParameters(
            parameters.image_temperature, parameters.text_temperature, bandwidth
        )
        table = open_set_tasks(specs, tuning, world, OPEN_SET_K, seed, candidate)
        score = auroc(table["score"].to_numpy(), table["from_hub"].to_numpy())
        if best is None or score > best[0]:
            best = (score, candidate, table)
    return best[1], best[2]


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a positive scores above a negative (ties count half): the
    Mann-Whitney statistic over the two groups' sizes."""
    positive = np.asarray(positive, dtype=bool)
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    if not n_positive or not n_negative:
        raise ValueError("AUROC needs scores of both groups")
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    return float(u / (n_positive * n_negative))


@dataclass(frozen=True)
class OpenSetCalibration:
    """P(from the hub | score) = 1 / (1 + exp(-(slope * score + intercept))), fitted on
    tuning tasks; `threshold` is the score at which that probability is one half."""

    slope: float
    intercept: float

    @property
    def threshold(self) -> float:
        """The score above which the examples are more likely the hub's than not."""
        return -self.intercept / self.slope

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """P(from the hub) of each score."""
        return expit(self.slope * np.asarray(scores, dtype=np.float64) + self.intercept)

    @classmethod
    def fit(cls, scores: np.ndarray, from_hub: np.ndarray) -> "OpenSetCalibration":
        """Platt scaling: a logistic regression of from_hub on the score, each group weighted
        to half the total (so the threshold does not follow how many tasks each group has)."""
        from sklearn.linear_model import LogisticRegression  # fitting only: queries stay light

        model = LogisticRegression(class_weight="balanced", C=1e6)
        model.fit(np.asarray(scores, dtype=np.float64)[:, None], np.asarray(from_hub, bool))
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))


def open_set_summary(table: pl.DataFrame, calibration: OpenSetCalibration) -> dict[str, float]:
    """AUROC of the hub's examples against the others (all of them, then, for generator
    tasks, those of left-out generators and the world's renders apart), and the error rates
    at the calibration's threshold: hub examples answered "none of the hub's" and the
    others' examples answered with a hub model."""
    scores, from_hub = table["score"].to_numpy(), table["from_hub"].to_numpy()
    accepted = calibration.probability(scores) >= 0.5
    summary = {"auroc": auroc(scores, from_hub)}
    if "generator" in table.columns:  # generator tasks: the two kinds of others apart
        world = (table["generator"] == "world").to_numpy()
        summary["auroc_left_out_generators"] = auroc(scores[~world], from_hub[~world])
        summary["auroc_world_renders"] = auroc(scores[from_hub | world], from_hub[from_hub | world])
    return summary | {
        "hub_answered_none": float(np.mean(~accepted[from_hub])),
        "others_answered_from_hub": float(np.mean(accepted[~from_hub])),
        "tasks": int(table.height),
    }


def _tuning_tasks(
    specs: Mapping[str, GeneratorSpecification], tuning: Mapping[str, np.ndarray], seed: int
) -> list[tuple[str, int, np.ndarray]]:
    """(true generator, tuning prompt, k examples) for every generator, prompt and k."""
    rng = np.random.default_rng(seed)
    prompts = next(iter(tuning.values())).shape[0]
    return [
        (true, prompt, tuning[true][prompt][rng.choice(tuning[true].shape[1], k, replace=False)])
        for true in sorted(specs)
        for prompt in range(prompts)
        for k in KS
    ]


def tuning_top1(
    specs: Mapping[str, GeneratorSpecification],
    tuning: Mapping[str, np.ndarray],
    seed: int = 0,
    parameters: PMIParameters = PMI_DEFAULTS,
    prompt_embeddings: np.ndarray | None = None,
) -> float:
    """Mean top-1 of "pmi" over k in KS on the tuning prompts' images `tuning[g]` [T, n, D],
    or of "pmi_with_prompt" given the prompts' text embeddings [T, E]: how a reference
    encoder and style weight are chosen (every candidate at the same parameters)."""
    hits = []
    for true, prompt, examples in _tuning_tasks(specs, tuning, seed):
        text = None if prompt_embeddings is None else prompt_embeddings[prompt]
        hits.append(identify(examples, specs, text, parameters)[0].generator == true)
    return float(np.mean(hits))


def tune_pmi(
    specs: Mapping[str, GeneratorSpecification],
    tuning: Mapping[str, np.ndarray],
    prompt_embeddings: np.ndarray,
    seed: int = 0,
) -> pl.DataFrame:
    """Mean top-1 over k in KS of "pmi" for every (image temperature, bandwidth) and of
    "pmi_with_prompt" for every (text temperature, bandwidth), on `tuning[g]` [T, n, D]:
    each generator's images for T tuning prompts, none in the spec or held-out sets.
    Best first per method; ties keep the grid order, the current defaults first."""
    tasks = _tuning_tasks(specs, tuning, seed)
    rows = []
    defaults = PMI_DEFAULTS
    for bandwidth in _defaults_first(BANDWIDTHS, defaults.bandwidth):
        for image_t in _defaults_first(IMAGE_TEMPERATURES, defaults.image_temperature):
            parameters = PMIParameters(image_t, defaults.text_temperature, bandwidth)
            hits = [identify(x, specs, None, parameters)[0].generator == g for g, _, x in tasks]
            rows.append(("pmi", image_t, None, bandwidth, float(np.mean(hits))))
        for text_t in _defaults_first(TEXT_TEMPERATURES, defaults.text_temperature):
            parameters = PMIParameters(defaults.image_temperature, text_t, bandwidth)
            hits = [
                identify(x, specs, prompt_embeddings[p], parameters)[0].generator == g
                for g, p, x in tasks
            ]
            rows.append(("pmi_with_prompt", None, text_t, bandwidth, float(np.mean(hits))))
    schema = {
        "method": pl.String,
        "image_temperature": pl.Float64,
        "text_temperature": pl.Float64,
        "bandwidth": pl.Float64,
        "top1": pl.Float64,
    }
    table = pl.DataFrame(rows, schema=schema, orient="row").with_row_index("grid_order")
    return table.sort(["method", "top1", "grid_order"], descending=[False, True, False])


def _defaults_first(values: tuple[float, ...], default: float) -> list[float]:
    return [default, *(v for v in values if v != default)]


def summarise_generators(table: pl.DataFrame) -> pl.DataFrame:
    """Per method and k: tasks, top-1 and top-3 accuracy (null for the oracle, which
    identifies nothing), mean Frechet distance."""
    return (
        table.group_by("method", "k")
        .agg(
            pl.len().alias("tasks"),
            (pl.col("rank") == 0).mean().alias("top1"),
            (pl.col("rank") < 3).mean().alias("top3"),
            pl.col("fd").mean().alias("fd"),
        )
        .sort("method", "k")
    )


def rkme_benchmark(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    queries: Mapping[str, np.ndarray],
    sizes: Sequence[int] = RKME_SAMPLE_SIZES,
    draws: int = 10,
    seed: int = 0,
) -> pl.DataFrame:
    """One row per search: model, n, top1_model (the model itself ranked first) and
    top1_slice (a model of the same training slice ranked first)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, samples in queries.items():
        for n in sizes:
            for _ in range(draws):
                picked = samples[rng.choice(len(samples), size=n, replace=False)]
                best = rank_by_mmd(picked, specs)[0][0]
                rows.append((model, n, best == model, slice_of[best] == slice_of[model]))
    schema = ["model", "n", "top1_model", "top1_slice"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def rkme_open_set_tasks(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    queries: Mapping[str, np.ndarray],
    disjoint: Mapping[str, Sequence[str]],
    n: int = RKME_OPEN_SET_N,
    draws: int = 5,
    seed: int = 0,
) -> pl.DataFrame:
    """Data from a slice that no hub model was trained on, against data from one that a hub
    model was: each training slice left out in turn, with a hub of only the models trained
    on none of its images (`disjoint`, hubscout.identification.slices.disjoint_models: a
    model of a larger slice that holds them was trained on them), skipped where none is. n
    images drawn `draws` times from the queries of the slice's models and of the hub's, each
    scored by minus the smallest MMD^2 to the hub's specs (higher: more like the hub). One
    row per draw: left_out_slice, model, from_hub, score."""
    rng = np.random.default_rng(seed)
    rows = []
    for left_out in sorted(disjoint):
        hub = {name: specs[name] for name in disjoint[left_out] if name in specs}
        if not hub:
            continue
        for model in sorted(queries):
            if slice_of[model] != left_out and model not in hub:
                continue  # trained on part of the slice: neither new data nor the hub's
            samples = queries[model]
            for _ in range(draws):
                picked = samples[rng.choice(len(samples), size=n, replace=False)]
                distance = rank_by_mmd(picked, hub)[0][1]
                rows.append((left_out, model, model in hub, -float(distance)))
    schema = {"left_out_slice": pl.String, "model": pl.String, "from_hub": pl.Boolean}
    return pl.DataFrame(rows, schema=schema | {"score": pl.Float64}, orient="row")


def rkme_encoder_score(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    tuning: Mapping[str, np.ndarray],
    disjoint: Mapping[str, Sequence[str]],
    seed: int = 0,
) -> dict[str, float | None]:
    """How well RKME search works in one encoder's space, on tuning queries (never the
    reported ones): top1_slice, the share of searches at every sample size that rank a model
    of the query's own slice first; open_set_auroc, of data from a slice no hub model was
    trained on against data from one that a hub model was (None where no slice has a hub
    of models trained on none of it); and score, their mean (top1_slice alone without an
    open set), which chooses the encoder: naming the right model and saying when none fits
    count alike, as both are what RKME search is for."""
    top1_slice = float(rkme_benchmark(specs, slice_of, tuning, seed=seed)["top1_slice"].mean())
    open_set = rkme_open_set_tasks(specs, slice_of, tuning, disjoint, seed=seed + 1)
    if open_set.height == 0:
        return {"top1_slice": top1_slice, "open_set_auroc": None, "score": top1_slice}
    open_set_auroc = auroc(open_set["score"].to_numpy(), open_set["from_hub"].to_numpy())
    return {
        "top1_slice": top1_slice,
        "open_set_auroc": open_set_auroc,
        "score": (top1_slice + open_set_auroc) / 2,
    }


def mixture_benchmark(
    specs: Mapping[str, RKME],
    slice_of: Mapping[str, str],
    queries: Mapping[str, np.ndarray],
    per_slice: int = 25,
    seed: int = 0,
) -> pl.DataFrame:
    """For every pair of distinct slices, half the samples from each: the mixture weight that
    lands on models of the two true slices (1.0 is perfect)."""
    rng = np.random.default_rng(seed)
    representative = {}
    for model in sorted(queries):
        representative.setdefault(slice_of[model], model)
    keys = sorted(representative)
    rows = []
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            parts = [
                queries[representative[key]][
                    rng.choice(len(queries[representative[key]]), per_slice, replace=False)
                ]
                for key in (first, second)
            ]
            weights = mixture(np.concatenate(parts), specs)
            on_truth = sum(w for m, w in weights.items() if slice_of[m] in (first, second))
            rows.append((representative[first], representative[second], on_truth))
    return pl.DataFrame(rows, schema=["first", "second", "weight_on_true_slices"], orient="row")
