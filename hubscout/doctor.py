"""`hubscout doctor`: the resolved profile and one line per backend saying whether it answers."""

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from hubscout.settings import Settings


@dataclass(frozen=True)
class Check:
    """The outcome of asking one backend whether it answers."""

    backend: str
    ok: bool
    detail: str
    seconds: float


def _timed(backend: str, probe: Callable[[], str]) -> Check:
    start = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as error:  # a doctor reports every failure as a line, never a traceback
        detail = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ok = False
    return Check(backend, ok, detail, time.perf_counter() - start)


def _http_ok(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return f"{url} answered HTTP {response.status}"


def check_registry_database(settings: Settings) -> Check:
    """Connect to the registry database and run SELECT 1."""

    def probe() -> str:
        import sqlalchemy

        if settings.registry_database_url.startswith("sqlite:///"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(settings.registry_database_url)
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        finally:
            engine.dispose()
        return f"{engine.url.render_as_string(hide_password=True)} answered"

    return _timed("registry database", probe)


def check_mlflow(settings: Settings) -> Check:
    """Ask the MLflow tracking store (a server's /health, or the SQLite store) for experiments."""

    def probe() -> str:
        uri = settings.mlflow_uri
        if uri.startswith(("http://", "https://")):
            return _http_ok(uri.rstrip("/") + "/health")
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)

        if uri.startswith("sqlite:///"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        experiments = MlflowClient(tracking_uri=uri).search_experiments(max_results=100)
        return f"{uri} answered ({len(experiments)} experiments)"

    return _timed("mlflow", probe)


def check_prefect(settings: Settings) -> Check:
    """Ask the Prefect API for its health; the embedded profile starts the ephemeral API."""

    def probe() -> str:
        if settings.prefect_api_url:
            return _http_ok(settings.prefect_api_url.rstrip("/") + "/health")
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            error = client.api_healthcheck()
            if error is not None:
                raise error
            return f"ephemeral API answered at {client.api_url}"

    return _timed("prefect", probe)


def check_ray(settings: Settings) -> Check:
    """Start (embedded) or join (RAY_ADDRESS) Ray, read its resources and disconnect."""

    def probe() -> str:
        import ray

        if settings.ray_address:
            ray.init(address=settings.ray_address, log_to_driver=False, logging_level="ERROR")
            where = settings.ray_address
        else:
            ray.init(
                num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR"
            )
            where = "local Ray (started for this check)"
        try:
            resources = ray.cluster_resources()
        finally:
            ray.shutdown()
        cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
        return f"{where} answered: {cpus:g} CPUs, {gpus:g} GPUs"

    return _timed("ray", probe)


def check_device(settings: Settings) -> Check:
    """Which torch device models run on."""

    def probe() -> str:
        import torch

        device = settings.resolved_device()
        if device.startswith("cuda"):
            return f"{device}: {torch.cuda.get_device_name(torch.device(device))}"
        return f"cpu ({torch.get_num_threads()} threads; no CUDA device visible)"

    return _timed("device", probe)


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    check_registry_database,
    check_mlflow,
    check_prefect,
    check_ray,
    check_device,
)
