"""`dvc repro` of the real pipeline (tiny parameters) in a fresh git repository: it builds,
does nothing the second time, and round-trips through the local DVC remote; the nightly flow
re-runs only the benchmark whose inputs changed; a killed starter-hub build resumes."""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flows.worker import local_prefect_server
from hubscout.settings import Settings
from tests.conftest import TINY_HUB
from tests.flows.conftest import TINY_PARAMS

ROOT = Path(__file__).resolve().parents[2]


def run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Iterator[tuple[Path, dict]]:
    """A git repository of the project with tiny parameters, and the environment its stages
    run in: one Prefect server for every stage's flow (started here, stopped by its process
    id after the module), so that no stage waits for an ephemeral server of its own."""
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if name.startswith(("tests/", "reports/")) or name == "dvc.lock":
            continue
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    (repo / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HUBSCOUT_", "PREFECT_API", "MLFLOW_TRACKING", "RAY_ADDRESS"))
    }
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "PREFECT_HOME": str(repo.parent / "prefect"),
        "RAY_AUTH_MODE": "disabled",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    run(["git", "init", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "copy"], repo, env)
    with local_prefect_server(Settings(data_dir=repo.parent / "prefect-server")) as api:
        yield repo, env | {"PREFECT_API_URL": api}


def test_repro_builds_then_does_nothing_then_round_trips(repo):
    path, env = repo
    dvc = [sys.executable, "-m", "dvc"]
    run([*dvc, "repro"], path, env)
    assert (path / "data" / "world" / "world.json").is_file()
    assert (path / "data" / "hub" / "manifest.json").is_file()
    assert (path / "dvc.lock").is_file() and (path / "reports" / "starter_hub.json").is_file()
    assert "logme" in (path / "reports" / "transferability.json").read_text()
    assert "pmi@k4" in (path / "reports" / "identification.json").read_text()

    second = run([*dvc, "repro"], path, env)
    assert "didn't change, skipping" in second.stdout
    assert "Running stage" not in second.stdout

    run([*dvc, "push"], path, env)
    assert any((path / "dvc-remote" / "files" / "md5").iterdir())
    manifest = (path / "data" / "hub" / "manifest.json").read_text()
    shutil.rmtree(path / "data" / "world")
    shutil.rmtree(path / "data" / "hub")
    shutil.rmtree(path / ".dvc" / "cache")
    run([*dvc, "pull"], path, env)
    assert (path / "data" / "hub" / "manifest.json").read_text() == manifest
    status = run([*dvc, "status"], path, env)
    assert "up to date" in status.stdout


def test_the_nightly_reruns_only_changed_benchmarks_and_publishes_them_once(repo):
    from mlflow import MlflowClient

    from registry.store import RegistryStore

    path, env = repo
    registry = f"sqlite:///{path / 'data' / 'registry.db'}"
    store = RegistryStore(registry)  # the stages register and publish nothing
    try:
        start = store.hub_version()
    finally:
        store.close()
    nightly = [sys.executable, "-m", "flows.nightly"]
    run(nightly, path, env)  # the pipeline is current: it publishes what the stages left
    run(nightly, path, env)  # nothing changed: nothing runs, nothing is published
    store = RegistryStore(registry)
    try:
        assert store.hub_version() == start + 1
        before = store.benchmark("identification")[0]["summary"]["generator_tasks"]
    finally:
        store.close()
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["identification"]["held_out_prompts"] -= 1
    (path / "params.yaml").write_text(yaml.safe_dump(params))
    run(nightly, path, env)  # only the identification stage reads these parameters
    store = RegistryStore(registry)
    try:
        assert store.hub_version() == start + 2
        identification, version = store.benchmark("identification")
        assert version == start + 2 and identification["summary"]["generator_tasks"] < before
        assert store.benchmark("selection")[1] == store.benchmark("transferability")[1] == start + 1
    finally:
        store.close()
    client = MlflowClient(f"sqlite:///{path / 'data' / 'mlflow.db'}")
    lifecycle = client.get_experiment_by_name("lifecycle").experiment_id
    runs = client.search_runs(
        [lifecycle], "attributes.run_name = 'nightly'", order_by=["attributes.start_time ASC"]
    )
    assert [r.data.params["reproduced_stages"] for r in runs] == [
        "none",
        "none",
        "identification",
    ]
    versions = [int(r.data.tags["hubscout.hub_version"]) for r in runs]
    assert versions == [start + 1, start + 1, start + 2]


def test_a_starter_hub_build_killed_half_way_resumes_without_retraining(repo):
    path, env = repo
    hub = path / "data" / "hub"
    shutil.rmtree(hub, ignore_errors=True)  # the build starts from nothing
    command = [sys.executable, "-m", "dvc", "repro", "starter_hub"]
    build = subprocess.Popen(
        command,
        cwd=path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while len(list(hub.glob("*/*.safetensors"))) < 2:
            assert build.poll() is None, "the build ended before it was killed"
            assert time.monotonic() < deadline, "no two models were trained in 10 minutes"
            time.sleep(0.2)
    finally:
        os.killpg(build.pid, signal.SIGKILL)
        build.wait(timeout=60)
    done = sorted(hub.glob("*/*.safetensors"))
    stamps = [checkpoint.stat().st_mtime_ns for checkpoint in done]
    models = len(TINY_HUB.recipes())
    assert 2 <= len(done) < models

    run(command, path, env)
    # the models trained before the kill were kept (data/hub persists) and reused, not rewritten
    assert [checkpoint.stat().st_mtime_ns for checkpoint in done] == stamps
    assert len(list(hub.glob("*/*.safetensors"))) == models
