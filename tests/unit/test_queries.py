import polars as pl
import pytest

from hubscout.hub import Hub
from hubscout.queries import NONE_OF_THE_HUB, Identified, open_set_answer


def _hub(benchmarks: dict) -> Hub:
    return Hub(version=3, models={}, labels=pl.DataFrame(), benchmarks=benchmarks)


def test_the_open_set_answer_applies_the_published_calibration():
    # P = expit(2 * score - 2): one half at score 1, expit(-2) = 0.1192 at score 0
    document = {"summary": {"open_set": {"calibration": {"slope": 2.0, "intercept": -2.0}}}}
    hub = _hub({"identification": document})
    at_threshold = open_set_answer(hub, [Identified("gen-a", 1.0, ""), Identified("b", 0.5, "")])
    assert at_threshold == {"p_from_hub": 0.5, "answer": "gen-a"}
    below = open_set_answer(hub, [Identified("gen-a", 0.0, "")])
    assert below["answer"] == NONE_OF_THE_HUB == "none of the hub's generators"
    assert below["p_from_hub"] == pytest.approx(0.119202922)


def test_no_calibration_or_no_ranking_means_no_open_set_answer():
    assert open_set_answer(_hub({}), [Identified("gen-a", 1.0, "")]) is None
    older = {"identification": {"summary": {"generators": 8}}}  # published before open sets
    assert open_set_answer(_hub(older), [Identified("gen-a", 1.0, "")]) is None
    calibrated = {"summary": {"open_set": {"calibration": {"slope": 1.0, "intercept": 0.0}}}}
    assert open_set_answer(_hub({"identification": calibrated}), []) is None
