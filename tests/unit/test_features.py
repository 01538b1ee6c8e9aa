import numpy as np
import pytest
import torch

from hubscout.cache import ArrayCache
from hubscout.data.datasets import ImageDataset
from hubscout.features import extract_features, feature_key
from hubscout.models import load_model
from tests.conftest import TINY_CLIP_ARCH


class CountingModel:
    """Wraps a loaded model and counts the images it encodes."""

    def __init__(self, model):
        self.model = model
        self.encoded = 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def image_features(self, images):
        self.encoded += len(images)
        return self.model.image_features(images)


@pytest.fixture
def model(tiny_clip):
    _, path = tiny_clip
    return CountingModel(load_model(f"open_clip:{TINY_CLIP_ARCH}@{path}"))


@pytest.fixture
def dataset(random_images):
    return ImageDataset("random", random_images)


def test_miss_then_hit(model, dataset, tmp_path):
    first = extract_features(model, dataset, tmp_path, chunk_size=8, show_progress=False)
    assert not first.from_cache and first.chunks_computed == 3
    assert first.features.shape == (20, 64) and first.features.dtype == np.float32
    np.testing.assert_allclose(first.features, model.model.image_features(dataset.images))
    encoded = model.encoded
    second = extract_features(model, dataset, tmp_path, chunk_size=8, show_progress=False)
    assert second.from_cache and model.encoded == encoded
    np.testing.assert_array_equal(first.features, second.features)
    assert not list((tmp_path / "features-chunks").glob("*/*/*.npz"))


def test_new_weights_invalidate_the_cache(tiny_clip, dataset, tmp_path):
    module, path = tiny_clip
    before = load_model(f"open_clip:{TINY_CLIP_ARCH}@{path}")
    extract_features(before, dataset, tmp_path, show_progress=False)
    changed = {k: v.clone() for k, v in module.state_dict().items()}
    changed["visual.proj"] += 0.1
    changed_path = tmp_path / "changed.pt"
    torch.save(changed, changed_path)
    after = load_model(f"open_clip:{TINY_CLIP_ARCH}@{changed_path}")
    assert feature_key(before, dataset) != feature_key(after, dataset)
    result = extract_features(after, dataset, tmp_path, show_progress=False)
    assert not result.from_cache


def test_a_crash_mid_run_resumes_from_the_finished_chunks(model, dataset, tmp_path, monkeypatch):
    original_put = ArrayCache.put
    calls = {"n": 0}

    def crash_on_third_chunk(self, key, arrays):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return original_put(self, key, arrays)

    monkeypatch.setattr(ArrayCache, "put", crash_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        extract_features(model, dataset, tmp_path, chunk_size=8, show_progress=False)
    monkeypatch.setattr(ArrayCache, "put", original_put)
    key = feature_key(model, dataset)
    assert not ArrayCache(tmp_path, "features").path(key).exists()
    assert not list(tmp_path.rglob("*.tmp"))

    model.encoded = 0
    resumed = extract_features(model, dataset, tmp_path, chunk_size=8, show_progress=False)
    assert resumed.chunks_computed == 1 and model.encoded == 4
    np.testing.assert_allclose(resumed.features, model.model.image_features(dataset.images))


def test_extraction_is_deterministic(model, dataset, tmp_path):
    first = extract_features(model, dataset, tmp_path / "a", show_progress=False)
    second = extract_features(model, dataset, tmp_path / "b", show_progress=False)
    np.testing.assert_array_equal(first.features, second.features)
