"""Static checks of infra/: every YAML parses; the Compose file validates against the Compose
specification's schema (as check-jsonschema ships it) and the Kubernetes manifests against
Kubernetes' schemas (kubernetes-validate, strict); the KubeRay resources, which no package
has schemas for, are checked key by key; all of them refer only to services, config maps,
secrets and volumes that exist, run commands that exist, and set only settings hubscout
knows; the DVC remote is defined."""

import configparser
import importlib.resources
import json
import re
import shlex
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from hubscout.cli import app
from hubscout.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MANIFESTS = sorted((INFRA / "k8s").glob("*.yaml"))
KUBERNETES = "1.33"  # the Kubernetes version the manifests are validated for
ENGINE_VARIABLES = {"PREFECT_API_URL", "MLFLOW_TRACKING_URI", "RAY_ADDRESS"}
OTHER_VARIABLES = {  # read by the engines' own clients, not by hubscout's settings
    "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "MLFLOW_S3_ENDPOINT_URL",
}  # fmt: skip
# The Secret the operator creates, as infra/README.md's kubectl command makes it.
SECRET_NAME = "hubscout-secrets"
SECRET_KEYS = {"HUBSCOUT_DATABASE_URL", "HUBSCOUT_REGISTRY_TOKEN", "RAY_AUTH_TOKEN"}


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _known_variable(name: str) -> bool:
    if name in ENGINE_VARIABLES | OTHER_VARIABLES:
        return True
    return name.startswith("HUBSCOUT_") and name[9:].lower() in Settings.model_fields


def _check_command(command: list[str] | str) -> None:
    """A hubscout command names a CLI command; a python -m one names a module that exists."""
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    commands |= {group.name for group in app.registered_groups}
    if words[0] == "hubscout":
        assert words[1] in commands, f"hubscout has no command {words[1]!r}"
    if words[:2] == ["python", "-m"]:
        module = ROOT / (words[2].replace(".", "/") + ".py")
        assert module.is_file(), f"{words[2]} is not a module of the repository"


@pytest.mark.parametrize(
    "path", [*INFRA.rglob("*.yml"), *INFRA.rglob("*.yaml"), ROOT / "dvc.yaml", ROOT / "params.yaml"]
)
def test_every_yaml_parses(path):
    assert _documents(path), f"{path} is empty"


def test_the_compose_file_has_valid_services_that_refer_to_what_exists():
    compose = _documents(INFRA / "docker-compose.yml")[0]
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((schema_file / "compose-spec.json").read_text())
    errors = jsonschema.validators.validator_for(schema)(schema).iter_errors(compose)
    assert [error.message for error in errors] == []
    services, volumes = compose["services"], set(compose.get("volumes", {}))
    assert {"postgres", "prefect", "mlflow", "minio", "ray-head", "ray-worker"} <= set(services)
    assert {"registry", "worker", "ray-gpu-worker"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, f"{name} has no image"
        if "build" in service:
            assert (INFRA / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        depends = service.get("depends_on", {})
        for other in depends:
            assert other in services, f"{name} depends on the unknown service {other}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in volumes, f"{name} mounts the undeclared volume {source}"
            else:
                assert (INFRA / source).exists() or source == "../data", source
        for variable in service.get("environment", {}):
            if service.get("image", "").startswith("hubscout:"):
                assert _known_variable(variable), f"{name}: hubscout knows no {variable}"
        if service.get("image", "").startswith("hubscout:"):
            _check_command(service["command"])
    gpu = services["ray-gpu-worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"] and services["ray-gpu-worker"]["profiles"] == ["gpu"]
    init = (INFRA / "postgres-init.sql").read_text()
    for database in ("prefect", "mlflow"):  # the engines' URLs name databases that are created
        assert f"CREATE DATABASE {database};" in init


def _containers(manifest: dict) -> list[dict]:
    """Every container template of a Deployment, RayCluster or RayJob."""
    spec = manifest["spec"]
    if manifest["kind"] == "Deployment":
        return spec["template"]["spec"]["containers"]
    cluster = spec["rayClusterSpec"] if manifest["kind"] == "RayJob" else spec
    templates = [cluster["headGroupSpec"]["template"]]
    templates += [group["template"] for group in cluster["workerGroupSpecs"]]
    if manifest["kind"] == "RayJob":
        templates.append(spec["submitterPodTemplate"])
    return [c for template in templates for c in template["spec"]["containers"]]


def test_the_manifests_have_their_required_keys_and_refer_to_what_exists():
    documents = [doc for path in MANIFESTS for doc in _documents(path)]
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in documents:
        if doc["apiVersion"].startswith("ray.io/"):  # KubeRay's: no schema, key by key below
            assert {"apiVersion", "kind", "metadata", "spec"} <= set(doc), doc
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    assert set(by_kind) == {
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "RayCluster",
        "RayJob",
    }  # fmt: skip  (no Secret ships: the operator creates it)
    api = {"Deployment": "apps/v1", "RayCluster": "ray.io/v1", "RayJob": "ray.io/v1"}
    config = by_kind["ConfigMap"]["hubscout-engines"]["data"]
    readme = (INFRA / "README.md").read_text()
    assert f"kubectl create secret generic {SECRET_NAME}" in readme
    assert set(re.findall(r"--from-literal=(\w+)=", readme)) == SECRET_KEYS
    by_kind["Secret"] = {SECRET_NAME: {}}
    for variable in [*config, *SECRET_KEYS]:
        assert _known_variable(variable), f"hubscout knows no {variable}"
    for kind in ("Deployment", "RayCluster", "RayJob"):
        for name, manifest in by_kind[kind].items():
            assert manifest["apiVersion"] == api[kind], name
            for container in _containers(manifest):
                assert {"name", "image"} <= set(container) and container["image"].startswith(
                    "hubscout:"
                )
                for source in container.get("envFrom", []):
                    [(ref_kind, ref)] = source.items()
                    pool = by_kind["ConfigMap" if ref_kind == "configMapRef" else "Secret"]
                    assert ref["name"] in pool, f"{name}: no {ref_kind} {ref['name']}"
                if "command" in container:
                    _check_command(container["command"])
    for name, deployment in by_kind["Deployment"].items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"{name}: the selector matches no pod"
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            claim = volume["persistentVolumeClaim"]["claimName"]
            assert claim in by_kind["PersistentVolumeClaim"], claim
    for name, service in by_kind["Service"].items():
        matched = [
            d
            for d in by_kind["Deployment"].values()
            if service["spec"]["selector"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matched, f"the service {name} selects no deployment"
    ray = by_kind["RayCluster"]["hubscout-ray"]["spec"]
    assert config["RAY_ADDRESS"] == "hubscout-ray-head-svc:6379"  # KubeRay's head service name
    assert ray["rayVersion"] == _pinned("ray")
    gpu = next(g for g in ray["workerGroupSpecs"] if g["groupName"] == "gpu")
    assert "nvidia.com/gpu" in gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    job = by_kind["RayJob"]["hubscout-relabel"]["spec"]
    _check_command(job["entrypoint"])
    assert job["rayClusterSpec"]["rayVersion"] == _pinned("ray")


def _pinned(package: str) -> str:
    """The version requirements.lock pins for `package`."""
    lock = (ROOT / "requirements.lock").read_text()
    return re.search(rf"^{package}==([^\s;]+)", lock, flags=re.MULTILINE).group(1)


def test_the_images_and_engines_match_the_pinned_versions():
    compose = _documents(INFRA / "docker-compose.yml")[0]["services"]
    assert compose["mlflow"]["image"].endswith(f":v{_pinned('mlflow')}")
    assert compose["prefect"]["image"].startswith(f"prefecthq/prefect:{_pinned('prefect')}-")
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "ARG VARIANT=cpu" in dockerfile
    stages = re.findall(r"^FROM \S+ AS base-(\w+)$", dockerfile, flags=re.MULTILINE)
    assert stages == ["cpu", "cuda"] and "FROM base-${VARIANT}" in dockerfile


def test_the_dvc_remote_is_defined():
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    default = config["core"]["remote"]
    [section] = [s for s in config.sections() if s.strip("'") == f'remote "{default}"']
    url = config[section]["url"]
    assert url.startswith("s3://") or (ROOT / ".dvc" / url).resolve().parent == ROOT


def test_no_secret_ships_and_only_the_registry_is_published():
    compose_text = (INFRA / "docker-compose.yml").read_text()
    for text in [compose_text, *(path.read_text() for path in MANIFESTS)]:
        assert "change-me" not in text and not re.search(r"hubscout-secret\b", text)
    for variable in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "HUBSCOUT_REGISTRY_TOKEN",
                     "RAY_AUTH_TOKEN"):  # fmt: skip
        assert f"${{{variable}:?" in compose_text, f"{variable} has a default or is not required"
    services = _documents(INFRA / "docker-compose.yml")[0]["services"]
    published = {
        name: port for name, service in services.items() for port in service.get("ports", [])
    }
    assert {
        name: port for name, port in published.items() if not port.startswith("127.0.0.1:")
    } == {"registry": "8700:8700"}
    assert "postgres" not in published and "ray-head" not in published
    assert services["registry"]["environment"]["RAY_AUTH_MODE"] == "token"
    config = next(d for p in MANIFESTS for d in _documents(p) if d["kind"] == "ConfigMap")
    assert config["data"]["RAY_AUTH_MODE"] == "token"
    kinds = [d["kind"] for p in MANIFESTS for d in _documents(p)]
    assert "Ingress" not in kinds and "Secret" not in kinds
    for path in MANIFESTS:
        for doc in _documents(path):
            if doc["kind"] == "Service":
                assert doc["spec"].get("type", "ClusterIP") == "ClusterIP", path
