"""dvc repro from a flow, on a two-stage DVC project of its own: it runs what changed, says
which stages ran, and turns a failing stage into a PipelineError with DVC's reason."""

import subprocess
import sys

import pytest

from tasks.pipeline import PipelineError, reproduce

DVC_YAML = """stages:
  count:
    cmd: python -c "print(len(open('words.txt').read().split()))" > count.txt
    deps: [words.txt]
    outs: [count.txt]
  double:
    cmd: python -c "print(2 * int(open('count.txt').read()))" > double.txt
    deps: [count.txt]
    outs: [double.txt]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "words.txt").write_text("one two three\n")
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True
    )
    return tmp_path


def test_only_what_changed_runs_and_a_failing_stage_says_why(project):
    assert reproduce.fn(project, ("double",)) == ["count", "double"]
    assert (project / "double.txt").read_text() == "6\n"
    assert reproduce.fn(project, ("double",)) == []  # nothing changed
    (project / "words.txt").write_text("one two three four\n")
    assert reproduce.fn(project, ("double",)) == ["count", "double"]
    assert (project / "double.txt").read_text() == "8\n"
    (project / "words.txt").unlink()
    with pytest.raises(PipelineError, match=r"dvc repro double failed .*words\.txt"):
        reproduce.fn(project, ("double",))
