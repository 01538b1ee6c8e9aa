import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from hubscout.errors import SourceError, UnknownArchitectureError, WeightsMismatchError
from hubscout.models import ImageClassifier, load_model


def test_timm_checkpoint_loads_with_its_card(tiny_timm, random_images):
    module, path = tiny_timm
    model = load_model(f"timm:resnet10t@{path}")
    assert isinstance(model, ImageClassifier)
    assert model.source_classes == ("circle", "square", "triangle", "star", "hexagon")
    assert model.preprocessing.image_size == 32
    probabilities = model.predict_proba(random_images)
    assert probabilities.shape == (20, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    pixels = model.preprocessing.apply(random_images, torch.device("cpu"))
    with torch.inference_mode():
        expected = module(pixels).softmax(dim=1).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    features = model.image_features(random_images)
    assert features.shape == (20, module.num_features)


def test_without_a_card_classes_are_numbered(tiny_timm, tmp_path):
    module, _ = tiny_timm
    path = tmp_path / "bare.safetensors"
    save_file(module.state_dict(), str(path))
    model = load_model(f"timm:resnet10t@{path}")
    assert model.source_classes == tuple(f"class {i}" for i in range(5))


def test_unknown_timm_architecture(tiny_timm):
    _, path = tiny_timm
    with pytest.raises(UnknownArchitectureError):
        load_model(f"timm:resnet-nonexistent@{path}")


def test_timm_uri_needs_a_weights_file():
    with pytest.raises(SourceError, match="names no weights file"):
        load_model("timm:resnet18")


def test_timm_weights_of_another_architecture(tiny_timm):
    _, path = tiny_timm
    with pytest.raises(WeightsMismatchError):
        load_model(f"timm:resnet18@{path}")
