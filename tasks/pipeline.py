"""The DVC pipeline, run from a flow: `dvc repro` of some stages (and whatever they depend on
that changed), in a subprocess of its own, with its output in the flow run's log."""

import os
import re
import subprocess
import sys
from pathlib import Path

from prefect import task

from hubscout.errors import HubscoutError

BENCHMARK_STAGES = ("selection_benchmark", "transferability_benchmark", "identification")
REPRO_TIMEOUT_S = 3 * 3600  # a rebuild from nothing takes ~14 min on 2 cores


class PipelineError(HubscoutError):
    """`dvc repro` failed; its output says which stage and why."""


@task(name="dvc-repro")
def reproduce(project: Path, stages: tuple[str, ...] = BENCHMARK_STAGES) -> list[str]:
    """Bring `stages` up to date in the DVC project; the stages that ran (none when nothing
    they depend on changed)."""
    command = [sys.executable, "-m", "dvc", "repro", *stages]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(  # the stages' `python` is this one
        command,
        cwd=project,
        env=os.environ | {"PATH": path},
        capture_output=True,
        text=True,
        timeout=REPRO_TIMEOUT_S,
    )
    print(result.stdout[-20000:])
    if result.returncode != 0:
        raise PipelineError(
            f"dvc repro {' '.join(stages)} failed in {project} (exit {result.returncode}): "
            + (result.stderr.strip() or result.stdout.strip())[-2000:]
        )
    return re.findall(r"^Running stage '([^']+)'", result.stdout, flags=re.MULTILINE)
