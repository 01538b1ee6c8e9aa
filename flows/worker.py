"""The worker: serves hubscout's deployments to a Prefect server and runs their flow runs.

- `on-model-registered`: its trigger starts a run when the registry's
  `hubscout.model.registered` event reaches Prefect, with the model's name from the event.
- `nightly`: on the cron of `HUBSCOUT_NIGHTLY_CRON` (UTC) refreshes the benchmarks (DVC),
  re-processes the hub and lists the models whose labels drifted (flows/nightly.py).
- `relabel`: re-processes on demand (stale models by default). The worker starts one run of it
  when it starts, so that a model registered while no deployment listened (an event delivered
  to a Prefect server that had just started, before the trigger existed) is labeled too.

Runs labeling the same model wait for each other (flows/on_model_registered.py holds a slot per
model); the worker runs at most `HUBSCOUT_WORKER_FLOW_RUNS` flow runs at once.

The cron needs Prefect's scheduler, which the ephemeral API does not run: without a configured
Prefect API (the embedded profile), `local_prefect_server` starts `prefect server start` on a
loopback port over SQLite in the data dir, and stops it by its process id.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from pydantic import ValidationError

from flows.nightly import nightly
from flows.on_model_registered import on_model_registered, relabel
from hubscout.errors import ConfigError
from hubscout.settings import Settings
from registry.outbox import REGISTERED_EVENT

SERVER_START_SECONDS = 120.0  # room for a slow machine's first start (docs/decisions.md)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The event-triggered, the on-demand (relabel) and the nightly deployment."""
    try:
        nightly_schedule = CronSchedule(cron=settings.nightly_cron, timezone="UTC")
    except ValidationError as error:
        raise ConfigError(
            f"HUBSCOUT_NIGHTLY_CRON={settings.nightly_cron!r} is not a cron expression "
            "(five fields, e.g. '0 2 * * *')"
        ) from error
    trigger = DeploymentEventTrigger(
        name="model-registered",
        expect={REGISTERED_EVENT},
        match={"prefect.resource.id": "hubscout.model.*"},
        parameters={"name": "{{ event.payload.name }}"},
    )
    return [
        on_model_registered.to_deployment(
            name="on-model-registered",
            triggers=[trigger],
            description="Label a model when the registry says it was registered.",
        ),
        relabel.to_deployment(
            name="relabel",
            parameters={"which": "stale"},
            description="Re-process models: all, stale (default) or names joined by commas.",
        ),
        nightly.to_deployment(
            name="nightly",
            schedules=[nightly_schedule],
            description="Refresh the benchmarks, re-process the hub, publish once; list drift.",
        ),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_prefect_server(settings: Settings, port: int | None = None) -> Iterator[str]:
    """A `prefect server start` on loopback over SQLite in `<data dir>/prefect`; yields its
    API URL and stops it (its process group, by the process id) afterwards."""
    home = settings.layout.prefect_home
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env["PREFECT_UI_API_URL"] = url  # else the UI in the browser calls the API on :4200
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("ab")
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_for(url, server, home / "server.log")
        yield url
    finally:
        _stop(server)
        log.close()


def _wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ConfigError(f"prefect server exited with {server.returncode}: see {log}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ConfigError(f"prefect server did not answer at {url} in {SERVER_START_SECONDS:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group the process leads, SIGKILL after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def serve(settings: Settings) -> None:
    """Serve the deployments until interrupted (the Prefect API of the environment), after a
    catch-up run of `relabel/relabel` for the models that no trigger saw."""
    import prefect
    from prefect.deployments import run_deployment

    served = deployments(settings)
    for deployment in served:  # the trigger exists before the catch-up looks for models
        deployment.apply()
    run_deployment("relabel/relabel", parameters={"which": "stale"}, timeout=0)
    prefect.serve(*served, limit=settings.worker_flow_runs, print_starting_message=False)
