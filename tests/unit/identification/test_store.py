import numpy as np
import pytest

from hubscout.errors import ConfigError
from hubscout.identification.store import load_generator_specs, load_rkme_specs, read_rkme
from hubscout.settings import Settings


def test_stored_rkme_specs_read_back_as_written(tmp_path):
    settings = Settings(data_dir=tmp_path)
    folder = settings.layout.identification / "rkme"
    folder.mkdir(parents=True)
    points, weights = np.arange(6.0).reshape(3, 2), np.array([0.5, 0.25, 0.25])
    np.savez(folder / "clf-a.rkme.npz", points=points, weights=weights, gamma=np.float64(0.125))
    spec = read_rkme(folder / "clf-a.rkme.npz")
    np.testing.assert_array_equal(spec.points, points)
    np.testing.assert_array_equal(spec.weights, weights)
    assert spec.gamma == 0.125
    assert list(load_rkme_specs(settings)) == ["clf-a"]


def test_no_stored_specs_say_which_stage_to_run(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="no generator specs: run `dvc repro identification`"):
        load_generator_specs(settings)
    with pytest.raises(ConfigError, match="no RKME specs: run `dvc repro identification`"):
        load_rkme_specs(settings)
