import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from hubscout import __version__
from tests.conftest import TINY_CLIP_ARCH, load_hub_model


def hubscout(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from hubscout.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_version_and_help(data_dir):
    assert hubscout("version").stdout.strip() == __version__
    help_text = hubscout("--help").stdout
    for command, *_ in COMMANDS:
        assert command in help_text


def _command_paths(group=None, prefix=()):
    """Every command of the CLI as its words, e.g. ("hub", "summary"), found from the app."""
    import typer

    from hubscout.cli import app

    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = sorted(_command_paths())


def test_the_command_list_is_complete():
    assert ("hub", "summary") in COMMANDS and ("worker",) in COMMANDS and len(COMMANDS) == 20


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_help(data_dir, words):
    result = hubscout(*words, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Usage: hubscout {' '.join(words)}" in " ".join(result.stdout.split())


def _huge_png_header(path, side=20_000):
    """A PNG whose header claims side x side pixels (400 megapixels for 20,000), with no
    pixel data: Pillow refuses it on open."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + end)
    return path


def _labeled_npz(path, labels):
    np.savez(path, images=np.zeros((len(labels), 32, 32, 3), np.uint8), labels=labels)
    return str(path)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("summary-split", "--split must be one of train, val, test, not 'dev'"),
        ("reuse-k0", "--k must be at least 1, not 0"),
        ("reuse-k-negative", "--k must be at least 1, not -2"),
        ("reuse-kind", "--kind must be one of vlm, classifier, not 'gan'"),
        ("features-batch", "setting batch_size (HUBSCOUT_BATCH_SIZE or --batch-size)"),
        ("features-device", "device must be auto, cpu, cuda or cuda:N, not 'tpu'"),
        ("env-device", "setting device (HUBSCOUT_DEVICE or --device)"),
        ("metric-twice", "metric(s) logme listed more than once"),
        ("labels-strings", "'labels' are <U3 but must be integer class indices"),
        ("labels-floats", "'labels' are float64 but must be integer class indices"),
        ("bomb", "claims more pixels than Pillow will decode"),
        ("card-node", "class_to_node names nodes that are not in the concept graph: no-such"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(
    case, message, starter_data_dir, tmp_path, tiny_clip, tiny_timm, monkeypatch
):
    _, checkpoint = tiny_clip
    dataset = tmp_path / "d.npz"
    np.savez(dataset, images=np.zeros((2, 32, 32, 3), np.uint8))
    source = f"open_clip:{TINY_CLIP_ARCH}@{checkpoint}"
    if case == "env-device":
        monkeypatch.setenv("HUBSCOUT_DEVICE", "tpu")
    if case == "card-node":
        from hubscout.models.cards import card_path

        _, weights = tiny_timm
        copy = tmp_path / weights.name
        copy.write_bytes(weights.read_bytes())
        card = card_path(weights).read_text()
        card = card.replace('"class_to_node": {}', '"class_to_node": {"circle": "no-such"}')
        card_path(copy).write_text(card)
    args = {
        "summary-split": ("hub", "summary", "--split", "dev"),
        "reuse-k0": ("reuse", "swatches", "--k", "0"),
        "reuse-k-negative": ("reuse", "swatches", "--k", "-2"),
        "reuse-kind": ("reuse", "swatches", "--kind", "gan"),
        "features-batch": ("features", source, str(dataset), "--batch-size", "-1"),
        "features-device": ("features", source, str(dataset), "--device", "tpu"),
        "env-device": ("select", "crimson, navy"),
        "metric-twice": ("rank", "swatches", "--metric", "logme,knn,logme"),
        "labels-strings": ("rank", _labeled_npz(tmp_path / "s.npz", np.array(["a", "b", "cde"]))),
        "labels-floats": ("rank", _labeled_npz(tmp_path / "f.npz", np.array([0.0, 1.0, 1.5]))),
        "bomb": ("identify", str(_huge_png_header(tmp_path / "huge.png"))),
        "card-node": ("label", f"timm:resnet10t@{tmp_path / 'tiny-resnet.safetensors'}"),
    }[case]
    result = hubscout(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]


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
    table = pl.read_parquet(labeled_data_dir / "labels" / "vlm-colours.parquet")
    mean = table.filter(pl.col("metric") == "informedness_siblings")["value"].mean()
    assert f"mean informedness among siblings (0: chance): {mean:.3f}\n" in label.stdout
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
        (("select", ""), "error: invalid task []: List should have at least 1 item"),
        (("select", "red, red"), "duplicate class names: red"),
        (("label", "no-such-model"), "has no model 'no-such-model'"),
    ]:
        result = hubscout(*args)
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr


def test_rank_orders_the_hub_by_the_first_metric(labeled_data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(labeled_data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = hubscout("rank", "swatches", "--metric", "logme,ncti")
    assert result.returncode == 0, result.stderr
    assert "swatches: 45 labeled images, best first by logme (hub version 1)" in (result.stdout)
    assert re.search(r"│ 1 +│ (vlm|clf)-\w+ +│ +-?\d\.\d{4}\*? │", result.stdout)
    for args, message in [
        (("rank", "no-such-task"), "is neither a file or folder nor a world task"),
        (("rank", "swatches", "--metric", "bogus"), "unknown metric(s) bogus"),
        (("rank", "swatches", "--kind", "gan"), "--kind must be one of vlm, classifier, all"),
    ]:
        failed = hubscout(*args)
        assert failed.returncode == 2 and message in failed.stderr


def test_a_worker_with_a_bad_cron_stops_before_starting_anything(data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_NIGHTLY_CRON", "0 2 * *")
    result = hubscout("worker", "--prefect-port", "1")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip().startswith("error: HUBSCOUT_NIGHTLY_CRON='0 2 * *' is not a cron")
    assert not (data_dir / "prefect").exists()  # no Prefect server was started


def test_doctor_exits_1_when_a_backend_does_not_answer(data_dir, monkeypatch):
    monkeypatch.setenv("HUBSCOUT_MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    result = hubscout("doctor")
    assert result.returncode == 1, result.stdout + result.stderr
    [mlflow] = [line for line in result.stdout.splitlines() if " mlflow " in line]
    assert mlflow.startswith("FAIL")


def test_pipeline_predict_prints_each_images_class_and_the_members_it_ran(
    starter_data_dir, tmp_path, monkeypatch
):
    from PIL import Image

    from hubscout.data.store import World
    from hubscout.pathway.model import router_input, train_pathway
    from hubscout.reuse.pipeline import save_pipeline

    monkeypatch.setenv("HUBSCOUT_DATA_DIR", str(starter_data_dir))
    world = World(starter_data_dir / "world")
    names = ["vlm-colours", "clf-colours"]
    models = [load_hub_model(f"starter:{name}") for name in names]

    def split(name):
        data = world.split("traffic-lights", name)
        return (
            [m.image_features(data.images) for m in models],
            data.labels,
            router_input(data.images),
        )

    classes = world.class_names("traffic-lights")
    training = train_pathway(split("train"), split("val"), len(classes), k=1)
    folder = save_pipeline(
        tmp_path / "p", "traffic-lights", classes, models, names, training.network
    )
    test = world.split("traffic-lights", "test")
    paths = []
    for index in (0, 1):
        paths.append(tmp_path / f"image-{index}.png")
        Image.fromarray(test.images[index]).save(paths[-1])
    result = hubscout("pipeline", "predict", str(folder), *map(str, paths))
    assert result.returncode == 0, result.stderr
    expected = load_hub_model(f"pipeline:{folder}").predict_proba(test.images[:2])
    for path, row in zip(paths, expected, strict=True):
        line = next(line for line in result.stdout.splitlines() if path.name in line)
        assert classes[int(row.argmax())] in line and f"{row.max():.3f}" in line
        assert any(name in line for name in names)
    failed = hubscout("pipeline", "predict", str(tmp_path), str(paths[0]))
    assert failed.returncode == 2 and "not a pipeline folder" in failed.stderr
