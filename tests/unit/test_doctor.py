from hubscout.doctor import check_device, check_mlflow, check_prefect, check_registry_database
from hubscout.settings import Settings


def test_registry_database_and_mlflow_answer_in_the_embedded_profile(data_dir):
    settings = Settings()
    registry = check_registry_database(settings)
    assert registry.ok, registry.detail
    assert (data_dir / "registry.db").exists()
    mlflow = check_mlflow(settings)
    assert mlflow.ok, mlflow.detail
    assert "1 experiments" in mlflow.detail  # MLflow's Default experiment
    assert (data_dir / "mlflow.db").exists()


def test_unreachable_backends_fail_with_one_line(data_dir):
    settings = Settings(
        database_url="postgresql+psycopg://127.0.0.1:1/nothing",
        mlflow_tracking_uri="http://127.0.0.1:1",
        prefect_api_url="http://127.0.0.1:1/api",
    )
    for check in (check_registry_database, check_mlflow, check_prefect):
        result = check(settings)
        assert not result.ok
        assert "\n" not in result.detail and result.detail


def test_postgresql_registry_database_answers(data_dir):
    settings = Settings(database_url="postgresql+psycopg://root@127.0.0.1:5432/test")
    result = check_registry_database(settings)
    assert result.ok, result.detail
    assert "127.0.0.1:5432/test" in result.detail


def test_device_is_cpu_here(data_dir):
    result = check_device(Settings())
    assert result.ok and result.detail.startswith("cpu")
