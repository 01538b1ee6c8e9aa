"""Shared fixtures: offline environment, an isolated data dir, tiny checkpoints on disk."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from hubscout.settings import OFFLINE_DEFAULTS

os.environ.update(OFFLINE_DEFAULTS)
os.environ["RAY_AUTH_MODE"] = "disabled"
PRODUCTION_VARIABLES = ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "RAY_ADDRESS")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir that Settings() resolves to, with no production engine configured."""
    directory = tmp_path / "data"
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(directory))
    for name in PRODUCTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("HUBSCOUT_") and name != "HUBSCOUT_DATA_DIR":
            monkeypatch.delenv(name)
    return directory


TINY_CLIP_ARCH = "hs-vit-w64-p8"


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A randomly initialised tiny open_clip model and its state dict saved to disk."""
    import open_clip

    from hubscout.models.open_clip_loader import CONFIG_DIR

    open_clip.add_model_config(CONFIG_DIR)
    torch.manual_seed(0)
    module = open_clip.create_model(TINY_CLIP_ARCH, pretrained=None).eval()
    path = tmp_path_factory.mktemp("clip") / "tiny.pt"
    torch.save(module.state_dict(), path)
    return module, path


@pytest.fixture(scope="session")
def tiny_timm(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A tiny timm ResNet with 5 classes, its weights as safetensors and a model card."""
    import timm
    from safetensors.torch import save_file

    from hubscout.models.cards import ModelCard, write_card

    torch.manual_seed(0)
    module = timm.create_model("resnet10t", pretrained=False, num_classes=5).eval()
    path = tmp_path_factory.mktemp("timm") / "tiny-resnet.safetensors"
    save_file(module.state_dict(), str(path))
    classes = ["circle", "square", "triangle", "star", "hexagon"]
    card = ModelCard(
        name="tiny-resnet",
        kind="classifier",
        architecture="resnet10t",
        source=f"timm:resnet10t@{path}",
        source_classes=classes,
        image_size=32,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
    )
    write_card(path, card)
    return module, path


@pytest.fixture(scope="session")
def random_images() -> np.ndarray:
    """Twenty random 32x32 RGB images."""
    return np.random.default_rng(0).integers(0, 256, size=(20, 32, 32, 3), dtype=np.uint8)
