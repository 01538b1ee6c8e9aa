import numpy as np
import pytest
from PIL import Image

from hubscout.identification.descriptor import describe, style_embedding


def _uniform(rgb: tuple[int, int, int], size: int = 16) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (size, size, 3))


def test_style_vectors_of_flat_images_by_hand():
    red, near_red, blue = _uniform((255, 0, 0)), _uniform((200, 10, 0)), _uniform((0, 0, 255))
    vectors = style_embedding(np.stack([red, near_red, blue]))
    assert vectors.shape == (3, 2 * 64 + 4 * 8)
    # six one-hot histograms, each block's entry sqrt(1/6): colour (3, 0, 0) is bin 48
    assert np.flatnonzero(vectors[0]).tolist() == [48, 64 + 48, 128, 136, 144, 152]
    np.testing.assert_allclose(vectors[0][vectors[0] > 0], np.sqrt(1 / 6))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # 200 and 255 share the top of 4 colour levels; blue differs in both colour blocks only
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)
    assert vectors[0] @ vectors[2] == pytest.approx(4 / 6)


def test_pixelation_leaves_one_parity_of_neighbours_flat():
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, size=(1, 16, 16, 3), dtype=np.uint8)
    pixelated = blocks.repeat(2, axis=1).repeat(2, axis=2)  # 2 x 2 blocks: 32 x 32
    vector = style_embedding(pixelated)[0]
    across_even, across_odd = vector[128:136], vector[136:144]
    down_even, down_odd = vector[144:152], vector[152:160]
    # neighbours inside a block (even columns and rows) never differ
    assert across_even.tolist() == [np.sqrt(1 / 6)] + [0.0] * 7
    assert down_even.tolist() == [np.sqrt(1 / 6)] + [0.0] * 7
    assert across_odd[0] < np.sqrt(1 / 6) and down_odd[0] < np.sqrt(1 / 6)
    # the frame's colours are counted apart from the centre's: a block histogram each
    assert np.sum(vector[:64] ** 2) == pytest.approx(1 / 6)
    assert np.sum(vector[64:128] ** 2) == pytest.approx(1 / 6)


def test_a_descriptor_cosine_mixes_the_two_cosines_by_the_style_weight():
    rng = np.random.default_rng(1)
    vlm = rng.normal(size=(2, 5))
    vlm /= np.linalg.norm(vlm, axis=1, keepdims=True)
    style = style_embedding(rng.integers(0, 256, size=(2, 12, 12, 3), dtype=np.uint8))
    described = describe(vlm, style, 0.3).astype(np.float64)
    assert described.shape == (2, 5 + style.shape[1])
    expected = 0.7 * (vlm[0] @ vlm[1]) + 0.3 * (style[0] @ style[1])
    assert described[0] @ described[1] == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(np.linalg.norm(described, axis=1), 1.0, atol=1e-6)
    # the encoder alone at 0, as specs described before style statistics hold it
    np.testing.assert_array_equal(describe(vlm, style, 0.0), vlm.astype(np.float32))


def test_images_of_another_size_are_described_at_32_pixels():
    rng = np.random.default_rng(2)
    large = rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    at_32 = np.stack(
        [np.asarray(Image.fromarray(x).resize((32, 32), Image.Resampling.LANCZOS)) for x in large]
    )
    np.testing.assert_array_equal(style_embedding(large), style_embedding(at_32))
    # a flat red image is the same style at any size
    vectors = [style_embedding(_uniform((255, 0, 0), size)[None])[0] for size in (16, 32, 48)]
    np.testing.assert_allclose(vectors[0], vectors[1])
    np.testing.assert_allclose(vectors[2], vectors[1])


def test_bad_style_weights_and_images_are_refused():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        describe(np.ones((1, 2)), np.ones((1, 2)), 1.5)
    with pytest.raises(ValueError, match=r"RGB images \[N, H, W, 3\]"):
        style_embedding(np.zeros((2, 16, 16), dtype=np.uint8))
