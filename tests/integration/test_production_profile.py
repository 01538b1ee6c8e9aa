"""The production profile for real, as separate processes on loopback, configured by
environment variables only: the registry service on the machine's PostgreSQL, `prefect
server` on PostgreSQL with `hubscout worker` serving the deployments to it, `mlflow server`
with a PostgreSQL backend and a local artifact root, and a Ray cluster (`ray start --head` and
a second node). A model registered over HTTP is processed by the event-triggered flow on the
worker, on the cluster; the test reads the result back through the registry, MLflow's client
against the server and Prefect's client. Every process is started here and stopped by its
process group's id; the databases are dropped afterwards."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.settings import PREFECT_API_URL, temporary_settings

from registry.store import RegistryStore
from tests.conftest import (
    POSTGRES,
    TINY_CLIP_ARCH,
    TOKEN,
    free_port,
    running_service,
    running_worker,
    wait_for,
)

BIN = Path(sys.executable).parent
ENGINE_START_S = 180  # Prefect's and MLflow's first start migrates an empty database


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL: its name; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def engine(
    command: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen]:
    """A server process in its own process group, logging to `log`, once `ready()`;
    SIGTERM to the group afterwards (SIGKILL if it lingers)."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + ENGINE_START_S
            while not ready():
                assert process.poll() is None, f"{command[:3]} exited: {log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"{command[:3]} not ready: see {log}"
                time.sleep(0.5)
            yield process
        finally:
            for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue


def answers(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    return probe


def ray_nodes(address: str, env: dict[str, str], nodes: int) -> Callable[[], bool]:
    def probe() -> bool:
        status = subprocess.run(
            [BIN / "ray", "status", "--address", address],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return status.returncode == 0 and f"0.0/{nodes}.0 CPU" in status.stdout

    return probe


@pytest.fixture
def production(tmp_path, tiny_clip, tiny_world) -> Iterator[tuple]:
    """Every engine of the production profile, started for this test: (the registry service,
    the environment that points hubscout at the engines, the MLflow and Prefect URLs)."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSCOUT_", "PREFECT_"))}
    base_env |= {"RAY_AUTH_MODE": "disabled", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    ray_temp = Path(f"/tmp/ray-hs-{uuid.uuid4().hex[:8]}")  # Ray's sockets want a short path
    ports = {name: free_port() for name in ("prefect", "mlflow", "ray")}
    prefect_api = f"http://127.0.0.1:{ports['prefect']}/api"
    mlflow_url = f"http://127.0.0.1:{ports['mlflow']}"
    ray_address = f"127.0.0.1:{ports['ray']}"
    prefect_env = base_env | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    with (
        postgres_database("hs_prefect") as prefect_db,
        postgres_database("hs_mlflow") as mlflow_db,
    ):
        prefect_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = (
            f"postgresql+asyncpg://root@127.0.0.1:5432/{prefect_db}"
        )
        prefect_server = [BIN / "prefect", "server", "start", "--host", "127.0.0.1"]
        mlflow_server = [BIN / "mlflow", "server", "--host", "127.0.0.1", "--workers", "1"]
        mlflow_server += ["--port", str(ports["mlflow"])]
        mlflow_server += ["--backend-store-uri", f"{POSTGRES.rsplit('/', 1)[0]}/{mlflow_db}"]
        mlflow_server += ["--artifacts-destination", str(tmp_path / "mlflow-artifacts")]
        ray = [BIN / "ray", "start", "--block", "--num-cpus", "1", "--disable-usage-stats"]
        head = [*ray, "--head", "--port", str(ports["ray"]), "--include-dashboard", "false"]
        head += ["--temp-dir", str(ray_temp)]
        node = [*ray, "--address", ray_address]
        with (
            engine(
                [*prefect_server, "--port", str(ports["prefect"])],
                prefect_env,
                tmp_path / "prefect.log",
                answers(f"{prefect_api}/health"),
            ),
            engine(
                mlflow_server, base_env, tmp_path / "mlflow.log", answers(f"{mlflow_url}/health")
            ),
            engine(head, base_env, tmp_path / "ray-head.log", ray_nodes(ray_address, base_env, 1)),
            engine(node, base_env, tmp_path / "ray-node.log", ray_nodes(ray_address, base_env, 2)),
            running_service(
                tmp_path,
                "postgresql",
                tiny_clip[1],
                tiny_world,
                {"HUBSCOUT_PREFECT_API_URL": prefect_api},
            ) as service,
        ):
            env = service.env | {
                "PREFECT_API_URL": prefect_api,
                "MLFLOW_TRACKING_URI": mlflow_url,
                "RAY_ADDRESS": ray_address,
                "HUBSCOUT_NIGHTLY_CRON": "0 0 1 1 *",  # no nightly run is due
            }
            yield service, env, mlflow_url, prefect_api
    leftover = subprocess.run(["pgrep", "-f", str(ray_temp)], capture_output=True, text=True)
    shutil.rmtree(ray_temp, ignore_errors=True)
    assert leftover.stdout == "", f"Ray processes left running: {leftover.stdout.split()}"


def test_a_registration_is_processed_by_the_worker_on_the_production_engines(production, tmp_path):
    service, env, mlflow_url, prefect_api = production
    doctor = subprocess.run(
        [sys.executable, "-c", "from hubscout.cli import main; main()", "doctor"],
        env={k: v for k, v in os.environ.items() if not k.startswith("HUBSCOUT_")} | env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "profile: production" in doctor.stdout
    for backend, where in (
        ("registry database", "postgresql+psycopg://root@127.0.0.1:5432/test"),
        ("mlflow", f"{mlflow_url}/health answered HTTP 200"),
        ("prefect", f"{prefect_api}/health answered HTTP 200"),
        ("ray", f"{env['RAY_ADDRESS']} answered: 2 CPUs"),
    ):
        [line] = [line for line in doctor.stdout.splitlines() if f" {backend} " in line]
        assert line.startswith("ok") and where in line, doctor.stdout

    with running_worker(env, tmp_path / "worker.log"):
        with (
            temporary_settings({PREFECT_API_URL: prefect_api}),
            get_client(sync_client=True) as client,
        ):  # the trigger exists and the worker's catch-up run has ended
            wait_for(lambda: _final_runs(client, "relabel"), 180, "the worker's catch-up run")
        started = time.monotonic()
        source = f"open_clip:{TINY_CLIP_ARCH}@{service.root / 'tiny.pt'}"
        answer = httpx.post(
            f"{service.base}/models",
            json={"name": "tiny-clip", "source": source},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        store = RegistryStore(env["HUBSCOUT_DATABASE_URL"])
        try:
            status = lambda: store.model("tiny-clip")["status"] in ("ready", "failed")  # noqa: E731
            wait_for(status, 420, f"processing (see {tmp_path / 'worker.log'})")
            model = store.model("tiny-clip")
            rows = store.benchmark_rows("tiny-clip")["transferability"]
            labels = store.hub().labels
        finally:
            store.close()
        assert model["status"] == "ready", model["status_reason"]
        assert [e["status"] for e in model["history"]] == ["registered", "labeling", "ready"]
        assert labels.filter(labels["model_id"] == "tiny-clip").height > 0
        assert len(rows) == len({row["task"] for row in rows}) > 0
        processed_s = time.monotonic() - started

        with (
            temporary_settings({PREFECT_API_URL: prefect_api}),
            get_client(sync_client=True) as client,
        ):
            runs = wait_for(
                lambda: _final_runs(client, "on-model-registered"), 120, "the triggered run's end"
            )
        [run] = runs
        assert run.parameters == {"name": "tiny-clip"} and run.state.is_completed()

    client = MlflowClient(tracking_uri=mlflow_url)
    lifecycle = client.get_experiment_by_name("lifecycle").experiment_id
    [parent] = client.search_runs(
        [lifecycle], f"tags.`prefect.flow_run_id` = '{run.id}'"
    )  # the parent run of the flow run the trigger started
    [nested] = client.search_runs(
        [lifecycle], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert nested.data.tags["hubscout.model"] == "tiny-clip"
    assert nested.data.tags["hubscout.status"] == "ready"
    assert nested.data.tags["hubscout.label_version"] == model["label_version"]
    artifacts = {a.path for a in client.list_artifacts(nested.info.run_id)}
    assert {"label.json", "transferability.json"} <= artifacts  # through the server's store
    assert client.get_registered_model("tiny-clip").tags["status"] == "ready"
    print(f"registered -> ready on the production engines in {processed_s:.0f} s")


def _final_runs(client, deployment: str) -> list:
    """The flow runs of a deployment, when there is one and all have ended, else []."""
    query = DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
    runs = client.read_flow_runs(deployment_filter=query)
    return runs if runs and all(run.state and run.state.is_final() for run in runs) else []
