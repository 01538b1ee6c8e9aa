import hashlib
import json

import pytest

from hubscout.errors import ConfigError
from hubscout.tuning import (
    AccuracyTuning,
    EncoderChoice,
    OpenSetTuning,
    PmiTuning,
    read_tuned,
    write_tuned,
)


def test_the_version_is_the_hash_of_the_values_and_what_chose_them():
    accuracy = AccuracyTuning(chosen_on="4 tuning tasks", coefficients=(0.1, 0.5, -0.2))
    document = {"chosen_on": "4 tuning tasks", "coefficients": [0.1, 0.5, -0.2],
                "kind": "accuracy_model"}  # fmt: skip
    expected = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    assert accuracy.version == expected
    moved = AccuracyTuning(chosen_on="4 tuning tasks", coefficients=(0.1, 0.5, -0.2000001))
    assert moved.version != accuracy.version


def test_a_stage_file_round_trips_at_full_precision(tmp_path):
    tuned = [
        EncoderChoice(chosen_on="t", reference_encoder="vlm-a", style_weight=0.25,
                      rkme_encoder="vlm-b"),
        PmiTuning(chosen_on="t", image_temperature=0.0123456789012, text_temperature=0.002,
                  bandwidth=0.001),
        OpenSetTuning(kind="rkme_open_set", chosen_on="t", slope=3.14159265358979,
                      intercept=-1.0),
    ]  # fmt: skip
    path = tmp_path / "identification" / "tuned.json"
    write_tuned(path, tuned)
    assert read_tuned(path) == tuned
    assert read_tuned(path)[1].image_temperature == 0.0123456789012
    assert read_tuned(tmp_path / "absent.json") == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([{"kind": "temperature", "chosen_on": "t"}], "kind"),
        ([{"kind": "pmi", "chosen_on": "t", "image_temperature": -1, "text_temperature": 1,
           "bandwidth": 1}], "greater than 0"),
        ([{"kind": "accuracy_model", "chosen_on": "t", "coefficients": [1, 2, 3],
           "extra": 1}], "Extra inputs"),
    ],
)  # fmt: skip
def test_an_invalid_stage_file_is_a_config_error_that_names_it(tmp_path, document, message):
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=rf"tuned parameters in {path} are invalid .*{message}"):
        read_tuned(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="is not JSON"):
        read_tuned(path)
