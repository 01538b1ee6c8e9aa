"""Publishing the pipeline's outputs to the registry, and the CLI answering from it."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from mlflow import MlflowClient
from PIL import Image
from scipy.special import expit

from flows.publish_hub import benchmark_documents, publish_hub_flow
from hubscout.errors import ConfigError
from hubscout.identification.pmi import PMIParameters, identify
from hubscout.identification.specs import describe_images
from hubscout.settings import Settings
from hubscout.tuning import read_tuned
from registry.store import RegistryStore
from tasks.labeling import label_starter_hub
from tests.conftest import load_hub_model


def test_the_pipeline_outputs_become_one_hub_version_that_the_cli_answers_from(
    hub_summary, flow_settings, flow_data_dir, tmp_path
):
    label_starter_hub(flow_settings)  # reused when the selection test labeled them first
    if not (flow_data_dir / "identification.json").is_file():  # run alone, not after it
        _identification(flow_data_dir)
    store = RegistryStore(flow_settings.registry_database_url)
    before = store.hub_version()
    specs = flow_settings.layout.specs
    stage_specs = sorted(specs.rglob("*.npz"))  # what the identification stage stored
    params = flow_data_dir / "params.yaml"
    summary = publish_hub_flow(flow_data_dir, params)
    # one version for the benchmarks and what the stages tuned, one for the models' artefacts
    assert summary["models"] == 6 and summary["hub_version"] == before + 2
    assert summary["failed"] == {}
    assert sorted(specs.rglob("*.npz")) == stage_specs  # the jobs found every spec: none built
    assert sorted(summary["registered_now"]) == [  # the stages register nothing
        "clf-colours", "clf-patterns", "gen-dark", "gen-light", "vlm-colours", "vlm-dark"
    ]  # fmt: skip
    hub = store.hub()
    assert hub.version == before + 2
    assert sorted(m.name for m in hub.ready()) == [
        "clf-colours", "clf-patterns", "gen-dark", "gen-light", "vlm-colours", "vlm-dark"
    ]  # fmt: skip
    assert sorted(hub.generator_specs) == ["gen-dark", "gen-light"]
    assert sorted(hub.rkme_specs) == ["clf-colours", "clf-patterns", "vlm-colours", "vlm-dark"]
    reference = json.loads((flow_data_dir / "identification.json").read_text())
    assert hub.reference_encoder == reference["reference_encoder"]
    assert hub.rkme_encoder == reference["rkme_encoder"]
    assert hub.benchmarks["identification"]["summary"] == reference
    stages = ("identification", "benchmarks")
    written = [
        t for stage in stages for t in read_tuned(flow_settings.data_dir / stage / "tuned.json")
    ]
    assert hub.tuned == {t.kind: t for t in written}  # as the stages wrote them, unrounded
    assert publish_hub_flow(flow_data_dir, params)["hub_version"] == hub.version  # nothing new
    store.close()
    # MLflow's Model Registry lists the whole hub, a version for each model's weights
    client = MlflowClient(flow_settings.mlflow_uri)
    listed = {m.name: m.tags for m in client.search_registered_models()}
    assert set(hub.models) <= set(listed)
    for name in hub.ready():
        assert listed[name.name]["status"] == "ready"
        assert listed[name.name]["kind"] == name.kind
        [version] = client.search_model_versions(f"name='{name.name}'")
        assert version.tags["content_hash"] == name.content_hash

    images = load_hub_model("starter:gen-dark").generate(["a red circle"], 2, seed=7)[0]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.asarray(image)).save(paths[-1])
    command = [sys.executable, "-c", "from hubscout.cli import main; main()", "identify"]
    env_run = {"capture_output": True, "text": True, "timeout": 300}
    found = subprocess.run([*command, *map(str, paths), "--prompt", "a red circle"], **env_run)
    assert found.returncode == 0, found.stderr
    assert "gen-dark" in found.stdout and f"hub version {hub.version}" in found.stdout
    # the open-set answer: the best log S at the open set's bandwidth (the examples described
    # as the specs are), by the calibration published with the identification benchmark
    verdict = re.search(r"answer: (.+) \(P\(from the hub\) (\d\.\d\d)\)", found.stdout)
    assert verdict is not None, found.stdout
    first = re.search(r"│ 1 +│ (\S+) +│ (-?\d+\.\d+)", found.stdout)
    tuned, open_set = reference["tuning"], reference["open_set"]
    encoder = load_hub_model(f"starter:{reference['reference_encoder']}")
    described = describe_images(encoder, images, tuned["style_weight"]).astype(np.float64)
    at_open_set = PMIParameters(
        tuned["pmi"]["image_temperature"], tuned["pmi"]["text_temperature"], open_set["bandwidth"]
    )
    score = identify(described, hub.generator_specs, None, at_open_set)[0].score
    calibration = open_set["calibration"]
    probability = expit(calibration["slope"] * score + calibration["intercept"])
    assert abs(float(verdict[2]) - probability) <= 0.0051  # printed to 2 decimals
    assert verdict[1] == (first[1] if probability >= 0.5 else "none of the hub's generators")
    models = subprocess.run([*command, str(paths[0]), "--kind", "classifier"], **env_run)
    assert models.returncode == 0, models.stderr
    assert "mixture weight" in models.stdout
    # no RKME open-set answer: the tiny hub has no slice that a model was trained on none
    # of, so the benchmark published no calibration (tests/unit/test_queries.py applies one)
    assert reference["rkme_open_set_auroc"] is None and "answer:" not in models.stdout
    empty = subprocess.run(command, **env_run)
    assert empty.returncode == 2 and "no example images given" in empty.stderr


def _identification(flow_data_dir):
    from flows.identification import identification_flow

    identification_flow(flow_data_dir / "params.yaml", flow_data_dir / "identification.json")


def test_the_benchmarks_published_are_the_named_ones_with_a_report(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    for name, value in (("identification", 1), ("selection", 2)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"value": value}))
    assert benchmark_documents(settings, tmp_path, ("identification",)) == {
        "identification": {"summary": {"value": 1}, "rows": []}
    }
    assert sorted(benchmark_documents(settings, tmp_path)) == ["identification", "selection"]
    with pytest.raises(ConfigError, match=r"^no benchmark called pathway: name some of select"):
        benchmark_documents(settings, tmp_path, ("pathway", "selection"))
