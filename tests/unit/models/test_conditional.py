import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from hubscout.errors import CorruptCheckpointError, SourceError, UnknownArchitectureError
from hubscout.models import load_model
from hubscout.models.conditional import (
    PromptEncoder,
    metadata_for,
    read_config,
    read_prompt_encoder,
)
from hubscout.models.cvae import ConditionalVAE, CVAEConfig
from hubscout.models.flow_matching import FlowConfig

ENCODER = PromptEncoder(
    ["red", "dark red", "star"], {"red": "red", "dark red": "dark red", "star": "star"}
)


def test_the_longest_phrase_wins_and_is_consumed():
    vectors = ENCODER(["a dark red star", "a red thing", "nothing known"])
    assert vectors.tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]


def test_configs_are_read_per_scheme():
    assert read_config("flow", "hs-flow-w16", FlowConfig).width == 16
    assert read_config("cvae", "hs-cvae-w32", CVAEConfig).latent_dim == 8
    with pytest.raises(UnknownArchitectureError, match="known: hs-flow-w16"):
        read_config("flow", "hs-cvae-w32", FlowConfig)


def test_a_generator_reloads_from_its_uri_and_repeats_itself(tmp_path):
    torch.manual_seed(0)
    module = ConditionalVAE(CVAEConfig(latent_dim=8), 3)
    path = tmp_path / "g.safetensors"
    save_file(dict(module.state_dict()), str(path), metadata=metadata_for(ENCODER))
    assert read_prompt_encoder(path).phrases == ENCODER.phrases
    generator = load_model(f"cvae:hs-cvae-w32@{path}")
    images = generator.generate(["a red star", "a dark red star"], 3, seed=4)
    assert images.shape == (2, 3, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(
        images, generator.generate(["a red star", "a dark red star"], 3, 4)
    )
    with torch.inference_mode():  # the same pixels as the network itself makes
        latent = torch.randn(6, 8, generator=torch.Generator().manual_seed(4))
        direct = module.eval().decode(
            latent, ENCODER(["a red star", "a dark red star"]).repeat_interleave(3, 0)
        )
    expected = (direct * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(images.reshape(6, 32, 32, 3), expected)
    with pytest.raises(SourceError, match="at least one prompt"):
        generator.generate([], 2, 0)


def test_checkpoints_without_the_prompt_table_are_refused(tmp_path):
    module = ConditionalVAE(CVAEConfig(latent_dim=8), 3)
    path = tmp_path / "bare.safetensors"
    save_file(dict(module.state_dict()), str(path))
    with pytest.raises(CorruptCheckpointError, match="prompt table"):
        load_model(f"cvae:hs-cvae-w32@{path}")
    with pytest.raises(SourceError, match="names no weights"):
        load_model("flow:hs-flow-w16")
