import json

from hubscout.identification.store import (
    reference_source,
    reference_style_weight,
    rkme_encoder_source,
    write_reference,
)
from hubscout.settings import Settings


def test_the_two_encoders_and_the_style_weight_round_trip(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert reference_source(settings) is None and reference_style_weight(settings) == 0.0
    assert rkme_encoder_source(settings) is None
    write_reference(settings, "vlm-serif", 0.75, "vlm-colours")
    assert reference_source(settings) == "starter:vlm-serif"
    assert reference_style_weight(settings) == 0.75
    assert rkme_encoder_source(settings) == "starter:vlm-colours"


def test_a_reference_written_before_style_statistics_means_one_encoder_alone(tmp_path):
    settings = Settings(data_dir=tmp_path)
    folder = settings.layout.identification
    folder.mkdir(parents=True)
    (folder / "reference.json").write_text(json.dumps({"encoder": "starter:vlm-serif"}))
    assert reference_source(settings) == "starter:vlm-serif"
    assert reference_style_weight(settings) == 0.0
    assert rkme_encoder_source(settings) == "starter:vlm-serif"  # RKME had no encoder of its own
