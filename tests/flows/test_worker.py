"""The worker's deployments on the test harness's Prefect server: the registry's event starts
a run of on-model-registered with the model's name, and the nightly deployment carries its
cron. (The harness runs triggers but not the scheduler; tests/integration/test_platform.py
runs the schedule and the worker on a real local server.)"""

import time

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.settings import PREFECT_API_URL

from flows.worker import deployments
from hubscout.errors import ConfigError
from hubscout.settings import Settings
from registry.events import OutboxSender
from registry.store import RegistryStore


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


def test_the_nightly_deployment_runs_relabel_all_on_the_configured_cron(applied):
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("relabel/nightly")
    assert str(nightly.id) == applied["nightly"]
    assert nightly.parameters == {"which": "all"}
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("30 3 * * 1-5", "UTC")
    assert schedule.active


def test_a_bad_cron_is_refused_before_anything_starts():
    with pytest.raises(ConfigError, match="HUBSCOUT_NIGHTLY_CRON='61 2 \\* \\* \\*'"):
        deployments(Settings(nightly_cron="61 2 * * *"))
