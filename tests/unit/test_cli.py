import re
import subprocess
import sys

import numpy as np
import pytest

from hubscout import __version__
from tests.conftest import TINY_CLIP_ARCH


def hubscout(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from hubscout.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_version_and_help(data_dir):
    assert hubscout("version").stdout.strip() == __version__
    help_text = hubscout("--help").stdout
    for command in ("version", "doctor", "features", "models", "hub", "label", "select", "reuse"):
        assert command in help_text


@pytest.mark.parametrize(
    "command", ["doctor", "features", "models", "version", "label", "select", "reuse", "hub"]
)
def test_every_command_has_help(data_dir, command):
    result = hubscout(command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_features_miss_then_hit(data_dir, tiny_clip, random_images, tmp_path):
    _, checkpoint = tiny_clip
    dataset = tmp_path / "random.npz"
    np.savez(dataset, images=random_images)
    source = f"open_clip:{TINY_CLIP_ARCH}@{checkpoint}"
    first = hubscout("features", source, str(dataset), "--device", "cpu")
    assert first.returncode == 0, first.stderr
    assert "20 x 64 float32" in first.stdout and "miss" in first.stdout
    second = hubscout("features", source, str(dataset))
    assert "hit" in second.stdout
    assert list((data_dir / "cache" / "features").glob("*/*.npz"))


def test_corrupt_checkpoint_gives_one_line_error_not_a_traceback(data_dir, tmp_path, tiny_clip):
    _, checkpoint = tiny_clip
    broken = tmp_path / "broken.pt"
    broken.write_bytes(checkpoint.read_bytes()[:5000])
    dataset = tmp_path / "d.npz"
    np.savez(dataset, images=np.zeros((1, 32, 32, 3), np.uint8))
    result = hubscout("features", f"open_clip:{TINY_CLIP_ARCH}@{broken}", str(dataset))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: checkpoint")
    assert "re-export or re-download" in lines[0]


def test_unknown_scheme_is_one_line(data_dir, tmp_path):
    result = hubscout("features", "hf:x", str(tmp_path / "d.npz"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown source scheme 'hf'")


def test_hub_summary_prints_every_vlm_on_every_task(starter_data_dir):
    result = hubscout("hub", "summary")
    assert result.returncode == 0, result.stderr
    assert "colours" in result.stdout and "dark" in result.stdout
    assert "swatches (held out)" in result.stdout and "distinct winners" in result.stdout


def test_label_select_and_reuse(labeled_data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    label = hubscout("label", "vlm-colours")
    assert label.returncode == 0, label.stderr
    assert "vlm-colours: up to date, 64 nodes" in label.stdout
    chosen = hubscout("select", "crimson, navy, olive, teapot", "--k", "2")
    assert chosen.returncode == 0, chosen.stderr
    assert re.search(r"│ crimson +│ crimson \(0\.\d\d\)", chosen.stdout)
    assert "not covered by any concept: teapot" in chosen.stdout
    assert "overall ranking" in chosen.stdout
    reused = hubscout("reuse", "swatches", "--k", "1")
    assert reused.returncode == 0, reused.stderr
    assert "ensemble" in reused.stdout and "reuse on swatches (60 test images)" in reused.stdout
    experts = hubscout("reuse", "patterns", "--kind", "classifier", "--budget", "2")
    assert experts.returncode == 0, experts.stderr
    assert "clf-patterns" in experts.stdout and "accuracy of the combination" in experts.stdout


def test_select_errors_are_one_line(labeled_data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
    for args, message in [
        (("select", ""), "error: invalid task ''"),
        (("select", "red, red"), "duplicate class names: red"),
        (("label", "no-such-model"), "has no model 'no-such-model'"),
    ]:
        result = hubscout(*args)
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr


def test_rank_orders_the_hub_by_the_first_metric(starter_data_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = hubscout("rank", "swatches", "--metric", "logme,ncti")
    assert result.returncode == 0, result.stderr
    assert "swatches-trainval: 45 labeled images, best first by logme" in result.stdout
    assert re.search(r"│ 1 +│ (vlm|clf)-\w+ +│ +-?\d\.\d{4}\*? │", result.stdout)
    for args, message in [
        (("rank", "no-such-task"), "is neither a file or folder nor a world task"),
        (("rank", "swatches", "--metric", "bogus"), "unknown metric(s) bogus"),
        (("rank", "swatches", "--kind", "gan"), "--kind must be vlm, classifier or all"),
    ]:
        failed = hubscout(*args)
        assert failed.returncode == 2 and message in failed.stderr
