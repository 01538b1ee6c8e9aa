import hashlib

import numpy as np

from hubscout.identification.rkme import RKME
from hubscout.identification.store import (
    generator_spec_path,
    read_rkme,
    rkme_spec_path,
    write_rkme,
)


def test_an_rkme_spec_reads_back_as_written_and_a_missing_one_is_none(tmp_path):
    path = tmp_path / "rkme" / "key.npz"
    assert read_rkme(path, 0.125) is None
    points, weights = np.arange(6.0).reshape(3, 2), np.array([0.5, 0.25, 0.25])
    write_rkme(path, RKME(points, weights, 0.125))
    spec = read_rkme(path, 0.125)
    np.testing.assert_array_equal(spec.points, points)
    np.testing.assert_array_equal(spec.weights, weights)
    assert spec.gamma == 0.125


def test_an_rkme_spec_is_addressed_by_everything_that_determines_it(tmp_path):
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    path = rkme_spec_path(tmp_path, "enc", images, 8, 0.125, 0)
    images_hash = hashlib.sha256(images.tobytes()).hexdigest()
    key = hashlib.sha256(f"rkme-1|enc|{images_hash}|8|0.125|0".encode()).hexdigest()[:40]
    assert path == tmp_path / "rkme" / f"{key}.npz"
    changed = images.copy()
    changed[1, 3, 3, 2] = 1  # one channel of one pixel
    others = [
        rkme_spec_path(tmp_path, "other", images, 8, 0.125, 0),
        rkme_spec_path(tmp_path, "enc", changed, 8, 0.125, 0),
        rkme_spec_path(tmp_path, "enc", images, 16, 0.125, 0),
        rkme_spec_path(tmp_path, "enc", images, 8, 0.25, 0),
        rkme_spec_path(tmp_path, "enc", images, 8, 0.125, 1),
    ]
    assert len({path, *others}) == 6


def test_a_generator_spec_is_kept_under_its_version(tmp_path):
    path = generator_spec_path(tmp_path, "gen-dark", "0123abcd")
    assert path == tmp_path / "generators" / "0123abcd" / "gen-dark.spec.npz"
