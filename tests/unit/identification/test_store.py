import json

from hubscout.identification.store import (
    identification_dir,
    reference_source,
    reference_style_weight,
    write_reference,
)
from hubscout.settings import Settings


def test_the_reference_and_its_style_weight_round_trip(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert reference_source(settings) is None and reference_style_weight(settings) == 0.0
    write_reference(settings, "vlm-serif", 0.75)
    assert reference_source(settings) == "starter:vlm-serif"
    assert reference_style_weight(settings) == 0.75


def test_a_reference_written_before_style_statistics_means_the_encoder_alone(tmp_path):
    settings = Settings(data_dir=tmp_path)
    folder = identification_dir(settings)
    folder.mkdir(parents=True)
    (folder / "reference.json").write_text(json.dumps({"encoder": "starter:vlm-serif"}))
    assert reference_source(settings) == "starter:vlm-serif"
    assert reference_style_weight(settings) == 0.0
