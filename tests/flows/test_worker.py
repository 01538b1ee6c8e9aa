"""The worker's deployments on the test harness's Prefect server (the registry's event starts
a run of on-model-registered with the model's name; the nightly deployment carries its cron),
and `hubscout worker` for real: a model registered over HTTP while Prefect is down is labeled,
specified and scored by the worker's flows once the worker has started its local Prefect
server, and tracked in MLflow."""

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.worker import deployments
from hubscout.data.store import World
from hubscout.errors import ConfigError
from hubscout.models.cards import ModelCard, write_card
from hubscout.settings import Settings
from hubscout.tuning import EncoderChoice
from registry.events import OutboxSender
from registry.publication import Publication
from registry.store import RegistryStore
from tests.conftest import (
    TINY_CLIP_ARCH,
    TOKEN,
    free_port,
    running_worker,
    service_awaiting_prefect,
    wait_for,
)


@pytest.fixture(scope="module")
def applied(tmp_path_factory) -> dict[str, str]:
    """The deployments applied to the harness server: name -> deployment id."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("worker"), nightly_cron="30 3 * * 1-5")
    return {d.name: str(d.apply()) for d in deployments(settings)}


def test_a_registration_starts_one_run_of_on_model_registered_with_its_name(applied, tmp_path):
    store = RegistryStore(f"sqlite:///{tmp_path / 'registry.db'}")
    try:
        assert store.register("my-clip", "open_clip:tiny@/models/my.pt", "vlm", "ab" * 32)
        assert OutboxSender(store, PREFECT_API_URL.value()).drain() == 1
    finally:
        store.close()
    deployment = DeploymentFilter(id=DeploymentFilterId(any_=[applied["on-model-registered"]]))
    runs = []
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while not runs and time.monotonic() < deadline:
            time.sleep(0.5)
            runs = client.read_flow_runs(deployment_filter=deployment)
        time.sleep(2)  # a second run, if the trigger fired twice, would exist by now
        runs = client.read_flow_runs(deployment_filter=deployment)
    assert len(runs) == 1, "the event did not start exactly one run"
    assert runs[0].parameters == {"name": "my-clip"}


def test_the_nightly_deployment_runs_on_the_configured_cron(applied):
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("nightly/nightly")
    assert str(nightly.id) == applied["nightly"]
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 3 * * 1-5", "UTC")
    assert schedule.active


def test_a_bad_cron_is_refused_before_anything_starts():
    with pytest.raises(ConfigError, match="HUBSCOUT_NIGHTLY_CRON='61 2 \\* \\* \\*'"):
        deployments(Settings(nightly_cron="61 2 * * *"))


def test_the_worker_processes_a_model_registered_while_prefect_was_down(
    tmp_path, tiny_clip, tiny_world
):
    with service_awaiting_prefect(tmp_path, tiny_clip[1], tiny_world) as (service, port, api):
        checkpoint = service.root / "tiny.pt"
        source = f"open_clip:{TINY_CLIP_ARCH}@{checkpoint}"
        data = Path(service.env["HUBSCOUT_DATA_DIR"])
        # its card names a sample of its training images, and it is the encoder that the hub's
        # published encoder choice names (so its RKME spec is embedded by itself)
        images = World(data / "world").pool_images[:120]
        np.savez(service.root / "tiny-sample.npz", images=images)
        card = ModelCard(
            name="tiny-clip", kind="vlm", architecture=TINY_CLIP_ARCH, source=source,
            training_sample="tiny-sample.npz",
        )  # fmt: skip
        write_card(checkpoint, card)
        store = RegistryStore(f"sqlite:///{service.env['HUBSCOUT_DATA_DIR']}/registry.db")
        choice = EncoderChoice(chosen_on="this test", reference_encoder="tiny-clip",
                               style_weight=0.0, rkme_encoder="tiny-clip")  # fmt: skip
        assert store.publish(Publication("the encoder choice", tuned=(choice,))) == 1
        body = {"name": "tiny-clip", "source": source}
        write = {"Authorization": f"Bearer {TOKEN}"}
        assert (
            httpx.post(f"{service.base}/models", json=body, headers=write, timeout=60).status_code
            == 202
        )
        env = service.env | {"HUBSCOUT_NIGHTLY_CRON": "0 0 1 1 *"}  # no nightly run is due
        with running_worker(env, tmp_path / "worker.log", port):
            ready = lambda: store.model("tiny-clip")["status"] == "ready"  # noqa: E731
            wait_for(ready, 420, f"labeling (see {tmp_path / 'worker.log'})")
            request = {"class_names": ["crimson", "navy"], "k": 1}
            answer = httpx.post(f"{service.base}/select", json=request, timeout=60).json()
            assert answer["hub_version"] == 2  # the choice's, then the model's
            assert [row["model"] for row in answer["ranking"]] == ["tiny-clip"]
            model = store.model("tiny-clip")
            assert len(model["label_versions"]) == 1
            assert [(s["spec_kind"], s["encoder"]) for s in model["specifications"]] == [
                ("rkme", "tiny-clip")
            ]
            rows = store.benchmark_rows("tiny-clip")["transferability"]
            tasks = World(data / "world").tasks["task"].to_list()
            assert [row["task"] for row in rows] == tasks
            assert store.outbox.events()[0]["sent"]
            with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
                runs = wait_for(lambda: _all_final(client.read_flow_runs()), 180, "final runs")
            states = [(run.name, run.parameters, run.state_name) for run in runs]
            assert all(run.state.is_completed() for run in runs), states
            # the worker's catch-up run; the trigger's run too when the event came after it
            assert {"which": "stale"} in [run.parameters for run in runs], states
        # MLflow: the run that processed it, tagged with its Prefect flow run, and a nested
        # run for the model
        client = MlflowClient(f"sqlite:///{data / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("lifecycle").experiment_id
        nested = client.search_runs([experiment], "tags.`hubscout.model` = 'tiny-clip'")
        ready = [run for run in nested if run.data.tags["hubscout.status"] == "ready"]
        assert ready, "no MLflow run processed tiny-clip"
        for run in ready:  # the catch-up run's and, when it came first, the trigger's
            assert run.data.tags["hubscout.spec_kind"] == "rkme"
            parent = client.get_run(run.data.tags["mlflow.parentRunId"])
            assert parent.data.tags["prefect.flow_run_id"] in {str(r.id) for r in runs}
        store.close()
        with pytest.raises(httpx.TransportError):  # the worker stopped its Prefect server
            httpx.get(f"{api}/health", timeout=2)


def _all_final(runs: list) -> list | None:
    """The runs due now (not the nightly's future ones) when there is at least one and every
    one has ended, else None."""
    later = datetime.now(UTC) + timedelta(minutes=5)
    started = [run for run in runs if run.state and run.expected_start_time < later]
    if started and all(run.state.is_final() for run in started):
        return started
    return None


def test_the_nightly_schedule_runs_on_the_workers_local_server(tmp_path, tiny_world):
    data = tmp_path / "data"
    shutil.copytree(tiny_world, data / "world")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        "HUBSCOUT_DATA_DIR": str(data),
        "HUBSCOUT_NIGHTLY_CRON": "* * * * *",  # every minute
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",  # default 60
    }
    with running_worker(env, tmp_path / "worker.log", port):
        wait_for(lambda: _healthy(api), 120, "the worker's Prefect server")
        with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:

            def nightly_runs() -> list:
                try:
                    deployment = client.read_deployment_by_name("nightly/nightly")
                except ObjectNotFound:  # the worker has not applied it yet
                    return []
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
                )
                return [run for run in runs if run.state and run.state.is_completed()]

            [first, *_] = wait_for(nightly_runs, 200, "a completed scheduled nightly run", 2)
    assert first.auto_scheduled and first.expected_start_time.second == 0
    assert first.parameters == {}


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
