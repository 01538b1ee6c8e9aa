import numpy as np
import open_clip
import pytest
import torch
from safetensors.torch import save_file

from hubscout.errors import (
    CorruptCheckpointError,
    NetworkRequiredError,
    SourceError,
    UnknownArchitectureError,
    WeightsMismatchError,
)
from hubscout.models import VisionLanguageModel, load_model
from hubscout.models.open_clip_loader import architectures
from tests.conftest import TINY_CLIP_ARCH


def test_checkpoint_on_disk_loads_through_the_uri_and_matches_the_model_in_memory(
    tiny_clip, random_images
):
    module, path = tiny_clip
    model = load_model(f"open_clip:{TINY_CLIP_ARCH}@{path}")
    assert isinstance(model, VisionLanguageModel)
    assert model.source == f"open_clip:{TINY_CLIP_ARCH}@{path}"

    pixels = model.preprocessing.apply(random_images, torch.device("cpu"))
    with torch.inference_mode():
        expected_images = module.encode_image(pixels, normalize=True).numpy()
        tokens = open_clip.get_tokenizer(TINY_CLIP_ARCH)(["a red circle", "a blue square"])
        expected_texts = module.encode_text(tokens, normalize=True).numpy()
    np.testing.assert_allclose(model.encode_images(random_images), expected_images, atol=1e-5)
    np.testing.assert_allclose(
        model.encode_texts(["a red circle", "a blue square"]), expected_texts, atol=1e-6
    )


def test_the_same_weights_give_the_same_hash_in_any_format(tiny_clip, tmp_path):
    module, path = tiny_clip
    safetensors_path = tmp_path / "tiny.safetensors"
    save_file(module.state_dict(), str(safetensors_path))
    from_pt = load_model(f"open_clip:{TINY_CLIP_ARCH}@{path}")
    from_safetensors = load_model(f"open_clip:{TINY_CLIP_ARCH}@{safetensors_path}")
    assert from_pt.content_hash == from_safetensors.content_hash
    assert len(from_pt.content_hash) == 64


def test_hubscout_configs_are_listed():
    assert TINY_CLIP_ARCH in architectures()
    assert "ViT-B-32" in architectures()


def test_unknown_architecture(tiny_clip):
    _, path = tiny_clip
    with pytest.raises(UnknownArchitectureError, match="hubscout models"):
        load_model(f"open_clip:no-such-arch@{path}")


def test_weights_of_another_architecture_do_not_fit(tiny_clip):
    _, path = tiny_clip
    with pytest.raises(WeightsMismatchError, match="do not fit"):
        load_model(f"open_clip:RN50@{path}")


def test_corrupt_checkpoint(tiny_clip, tmp_path):
    _, path = tiny_clip
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CorruptCheckpointError):
        load_model(f"open_clip:{TINY_CLIP_ARCH}@{broken}")


def test_uri_without_weights():
    with pytest.raises(SourceError, match="names no weights"):
        load_model(f"open_clip:{TINY_CLIP_ARCH}")


def test_unknown_pretrained_tag():
    with pytest.raises(UnknownArchitectureError, match="no pretrained tag"):
        load_model("open_clip:ViT-B-32/not-a-tag")


def test_pretrained_weights_that_need_the_network_are_a_typed_error():
    with pytest.raises(NetworkRequiredError, match="connected machine"):
        load_model("open_clip:RN50/openai")
