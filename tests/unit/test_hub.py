import polars as pl
import pytest

from hubscout.hub import LABEL_COLUMNS, EmptyHubError, Hub, HubEntry
from hubscout.tuning import AccuracyTuning, PmiTuning


def _hub() -> Hub:
    models = {
        "vlm-b": HubEntry("vlm-b", "starter:vlm-b", "vlm", "h2", "ready"),
        "vlm-a": HubEntry("vlm-a", "starter:vlm-a", "vlm", "h1", "ready"),
        "clf-c": HubEntry("clf-c", "timm:r@/m/c.pt", "classifier", "h3", "failed"),
        "gen-d": HubEntry("gen-d", "cvae:x@/m/d.pt", "generator", "h4", "ready"),
    }
    empty = pl.DataFrame(schema=dict.fromkeys(LABEL_COLUMNS, pl.String))
    accuracy = AccuracyTuning(chosen_on="tuning tasks", coefficients=(0.1, 0.5, -0.2))
    return Hub(7, models, empty, tuned={"accuracy_model": accuracy})


def test_ready_models_by_kind_and_name():
    hub = _hub()
    assert [m.name for m in hub.ready()] == ["gen-d", "vlm-a", "vlm-b"]
    assert [m.name for m in hub.ready("vlm")] == ["vlm-a", "vlm-b"]
    assert hub.ready("classifier") == []  # failed models are not candidates


def test_sources_of_ready_models_only():
    hub = _hub()
    assert hub.ready_model("vlm-a").source == "starter:vlm-a"
    with pytest.raises(EmptyHubError, match="'clf-c' is not ready in hub version 7"):
        hub.ready_model("clf-c")


def test_the_accuracy_predictor_comes_from_the_selection_benchmarks_tuning():
    assert _hub().accuracy_coefficients() == (0.1, 0.5, -0.2)
    assert Hub(0, {}, _hub().labels).accuracy_coefficients() is None
    pmi = PmiTuning(chosen_on="x", image_temperature=1, text_temperature=1, bandwidth=1)
    assert Hub(0, {}, _hub().labels, tuned={"accuracy_model": pmi}).accuracy_coefficients() is None
