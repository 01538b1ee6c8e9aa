import pytest

from hubscout.errors import ConfigError
from hubscout.models.cards import ModelCard, card_path, read_card, write_card


def test_card_round_trip(tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    card = ModelCard(name="m", kind="classifier", architecture="resnet10t", source="timm:x@y")
    assert write_card(checkpoint, card) == tmp_path / "model.card.json"
    assert read_card(checkpoint) == card


def test_no_card_and_bad_card(tmp_path):
    checkpoint = tmp_path / "model.pt"
    assert read_card(checkpoint) is None
    card_path(checkpoint).write_text('{"name": "m", "kind": "teapot"}')
    with pytest.raises(ConfigError, match="invalid"):
        read_card(checkpoint)
