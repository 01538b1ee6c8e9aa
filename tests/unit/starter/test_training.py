import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from hubscout.models.open_clip_loader import create_untrained, register_configs
from hubscout.starter.training import _locked_features, _memoised_tokenizer, _optimise


def test_the_memoised_tokenizer_gives_the_tokenizers_rows_and_tokenizes_each_caption_once():
    register_configs()
    tokenizer = open_clip.get_tokenizer("hs-vit-w64-p8")
    seen: list[list[str]] = []

    def counting(texts: list[str]) -> torch.Tensor:
        seen.append(list(texts))
        return tokenizer(texts)

    tokenize = _memoised_tokenizer(counting)
    first = ["a red circle", "digit 7", "a red circle"]
    second = ["digit 7", "a small blue star"]
    assert torch.equal(tokenize(first), tokenizer(first))
    assert torch.equal(tokenize(second), tokenizer(second))
    assert seen == [["a red circle", "digit 7"], ["a small blue star"]]


def test_locked_features_are_the_towers_unit_features_of_every_scene_in_chunks():
    register_configs()
    torch.manual_seed(0)
    tower = create_untrained("hs-timm-resnet").visual.train()
    images = torch.rand(7, 3, 32, 32)

    def pixels(batch: np.ndarray) -> torch.Tensor:
        return images[torch.from_numpy(batch)]

    features = _locked_features(tower, pixels, len(images), chunk=3)
    assert not tower.training  # batch-norm statistics did not move
    with torch.no_grad():
        expected = F.normalize(tower(images), dim=-1)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(features.norm(dim=1), torch.ones(7, dtype=torch.float32))


def test_optimise_trains_channels_last_and_returns_the_module_contiguous():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 1))
    x, y = torch.rand(16, 3, 8, 8), torch.rand(16, 1)
    layouts = []

    def loss(_: int) -> tuple[torch.Tensor, float]:
        layouts.append(module[0].weight.is_contiguous(memory_format=torch.channels_last))
        value = F.mse_loss(module(x), y)
        return value, value.item()

    trained = _optimise(module, 30, 1e-2, 0.0, loss, len(x))
    assert all(layouts) and len(layouts) == 30
    assert all(p.is_contiguous() for p in trained.module.parameters())
    assert trained.last_loss < trained.first_loss and not trained.module.training
