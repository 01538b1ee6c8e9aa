from pathlib import Path

import pytest
from pydantic import ValidationError

from hubscout.errors import ConfigError
from hubscout.settings import Settings, load_settings


def test_embedded_defaults_live_in_the_data_dir(data_dir: Path):
    settings = Settings()
    assert settings.profile == "embedded"
    assert settings.data_dir == data_dir.resolve()
    assert settings.registry_database_url == f"sqlite:///{data_dir / 'registry.db'}"
    assert settings.mlflow_uri == f"sqlite:///{data_dir / 'mlflow.db'}"
    assert settings.cache_dir == data_dir / "cache"
    assert settings.prefect_api_url is None and settings.ray_address is None
    assert settings.resolved_device() == "cpu"


def test_engine_variables_select_the_production_profile(data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATABASE_URL", "postgresql+psycopg://127.0.0.1/test")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect:4200/api")
    monkeypatch.setenv("RAY_ADDRESS", "ray-head:6379")
    settings = Settings()
    assert settings.profile == "production"
    assert settings.registry_database_url == "postgresql+psycopg://127.0.0.1/test"
    assert settings.mlflow_uri == "http://mlflow:5000"
    assert settings.ray_address == "ray-head:6379"


def test_hubscout_prefix_wins_and_partial_config_is_mixed(data_dir, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://engine:5000")
    monkeypatch.setenv("HUBSCOUT_MLFLOW_TRACKING_URI", "http://hubscout:5000")
    settings = Settings()
    assert settings.mlflow_uri == "http://hubscout:5000"
    assert settings.profile == "mixed"


def test_device_and_batch_size_are_validated(data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DEVICE", "cuda:1")
    assert Settings().device == "cuda:1"
    assert Settings().resolved_device() == "cuda:1"
    with pytest.raises(ValidationError, match="device must be"):
        Settings(device="tpu")
    with pytest.raises(ValidationError):
        Settings(batch_size=0)


def test_load_settings_turns_a_bad_knob_into_one_config_error(data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DEVICE", "tpu")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "setting device (HUBSCOUT_DEVICE or --device): device must be auto, cpu, cuda or "
        "cuda:N, not 'tpu'"
    )
    monkeypatch.delenv("HUBSCOUT_DEVICE")
    with pytest.raises(ConfigError, match=r"setting batch_size .*greater than 0; got -1"):
        load_settings(batch_size=-1)
    assert load_settings(batch_size=8).batch_size == 8


def test_the_layout_spells_every_path_under_the_data_dir(tmp_path):
    layout = Settings(data_dir=tmp_path).layout
    assert layout.labels == tmp_path / "labels"  # every model's, starter or registered
    assert layout.world == tmp_path / "world" and layout.hub == tmp_path / "hub"


def test_the_pipeline_is_the_dvc_project_around_the_data_dir(tmp_path):
    assert Settings(data_dir=tmp_path / "data").layout.pipeline is None
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    assert Settings(data_dir=tmp_path / "data").layout.pipeline == tmp_path.resolve()


@pytest.mark.parametrize("token", ["", "   ", "\t"])
def test_an_empty_or_blank_registry_token_is_a_config_error(data_dir, monkeypatch, token):
    monkeypatch.setenv("HUBSCOUT_REGISTRY_TOKEN", token)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(
        "setting registry_token (HUBSCOUT_REGISTRY_TOKEN or --registry-token): the registry "
        "token is set but empty, which would open every write to a blank credential"
    )


def test_a_short_or_spaced_token_is_refused_without_being_echoed(data_dir, monkeypatch):
    for token in ("guessable", "has a space in the middle of it"):
        monkeypatch.setenv("HUBSCOUT_REGISTRY_READ_TOKEN", token)
        with pytest.raises(ConfigError, match="at least 16 printable characters") as caught:
            load_settings()
        assert token not in str(caught.value)
    monkeypatch.setenv("HUBSCOUT_REGISTRY_READ_TOKEN", "r" * 16)
    assert load_settings().registry_read_token.get_secret_value() == "r" * 16
