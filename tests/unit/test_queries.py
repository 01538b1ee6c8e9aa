import numpy as np
import polars as pl
import pytest

from hubscout.hub import Hub
from hubscout.identification.pmi import PMI_DEFAULTS, PMIParameters
from hubscout.identification.specs import GeneratorSpecification
from hubscout.queries import (
    NONE_OF_THE_HUB,
    NONE_OF_THE_MODELS,
    open_set_answer,
    pmi_parameters,
    rkme_open_set_answer,
)
from hubscout.tuning import OpenSetTuning, PmiTuning, Tuned

PMI = PmiTuning(chosen_on="t", image_temperature=0.05, text_temperature=0.01, bandwidth=0.001)


def _spec(name: str, image: list[float]) -> GeneratorSpecification:
    embedding = np.array([[image]])  # one prompt, one image
    return GeneratorSpecification(name, ("p",), embedding, embedding[0], "v", {}, 0.0)


def _hub(*tuned: Tuned) -> Hub:
    specs = {"gen-a": _spec("gen-a", [1.0, 0.0]), "gen-b": _spec("gen-b", [0.0, 1.0])}
    return Hub(
        version=3, models={}, labels=pl.DataFrame(), generator_specs=specs,
        tuned={t.kind: t for t in tuned},
    )  # fmt: skip


# examples at cos 0.6 to gen-a's image and 0.8 to gen-b's: the best log S is (0.8 - 1) / h
EXAMPLES = np.array([[0.6, 0.8]])


def _generator_open_set(bandwidth: float | None) -> OpenSetTuning:
    return OpenSetTuning(kind="generator_open_set", chosen_on="t", slope=1.0, intercept=2.5,
                         bandwidth=bandwidth)  # fmt: skip


def test_the_open_set_answer_scores_at_the_open_set_bandwidth_and_applies_the_calibration():
    # P = expit(score + 2.5): expit(0.5) at the open set's bandwidth 0.1, where log S = -2
    answer = open_set_answer(_hub(PMI, _generator_open_set(0.1)), EXAMPLES, "gen-b")
    assert answer["answer"] == "gen-b" and answer["p_from_hub"] == pytest.approx(0.622459331)
    # without a bandwidth of its own the open set scores at the ranking's: log S = -200 at
    # 0.001, and P = expit(-197.5)
    below = open_set_answer(_hub(PMI, _generator_open_set(None)), EXAMPLES, "gen-b")
    assert below["answer"] == NONE_OF_THE_HUB == "none of the hub's generators"
    assert below["p_from_hub"] == pytest.approx(np.exp(-197.5), rel=1e-6)


def test_no_calibration_means_no_open_set_answer():
    assert open_set_answer(_hub(), EXAMPLES, "gen-b") is None
    assert open_set_answer(_hub(PMI), EXAMPLES, "gen-b") is None


def test_the_ranking_uses_the_parameters_the_benchmark_tuned():
    assert pmi_parameters(_hub(PMI)) == PMIParameters(0.05, 0.01, 0.001)
    assert pmi_parameters(_hub()) == PMI_DEFAULTS


def test_the_rkme_open_set_answer_calibrates_minus_the_smallest_mmd2():
    # P = expit(10 * (-MMD^2) + 1): expit(0.5) at MMD^2 0.05, expit(-1) at 0.2
    tuned = OpenSetTuning(kind="rkme_open_set", chosen_on="t", slope=10.0, intercept=1.0)
    near = rkme_open_set_answer(_hub(tuned), 0.05, "clf-a")
    assert near == {"p_from_hub": pytest.approx(0.622459331), "answer": "clf-a"}
    far = rkme_open_set_answer(_hub(tuned), 0.2, "clf-a")
    assert far == {"p_from_hub": pytest.approx(0.268941421), "answer": NONE_OF_THE_MODELS}
    assert rkme_open_set_answer(_hub(_generator_open_set(0.1)), 0.05, "clf-a") is None
