"""One Prefect test harness and one Ray session for all the flow tests.

Both are package-scoped: they stop when the flow tests end, so that their idle processes do
not slow the rest of the run.
"""

from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY_WORLD

TINY_PARAMS = {
    "world": {"image_size": 32, "seed": 0, **TINY_WORLD},
    "starter_hub": {
        "profile": "tiny",
        "seed": 0,
        "step_scale": 1.0,
        "batch_size": 64,
        "generator_images": 600,
        "parallel_jobs": 2,
    },
    "selection": {"k": 2, "drawn_tasks": 5, "drawn_per_class": 10},
    "transferability": {
        "seed": 0,
        "metrics": None,
        "fine_tune_tasks": ["swatches", "consonants"],
        "fine_tune_steps": 20,
    },
    "pathway": {"k": 2, "seed": 0, "tasks": ["swatches", "digits"]},
    "identification": {
        "seed": 0,
        "reference_encoder": None,
        "spec_prompts": 8,
        "per_prompt": 4,
        "held_out_prompts": 4,
        "tuning_prompts": 4,
        "examples_per_prompt": 8,
        "rkme_points": 8,
        "rkme_samples": 200,
        "rkme_queries": 60,
    },
}


@pytest.fixture(scope="package", autouse=True)
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="package")
def ray_cluster():
    """A local Ray with 2 CPUs for the flow tests, shut down after them."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="package")
def flow_data_dir(tmp_path_factory) -> Path:
    """A folder with a tiny params.yaml; flows write into its data/ dir."""
    root = tmp_path_factory.mktemp("flows")
    (root / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS))
    return root


@pytest.fixture(scope="package")
def flow_settings(flow_data_dir):
    """Settings pointing at the flow data dir, for the flow tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSCOUT_DATA_DIR", str(flow_data_dir / "data"))
        for name in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS", "HUBSCOUT_DATABASE_URL"):
            patch.delenv(name, raising=False)
        from hubscout.settings import Settings

        yield Settings()


@pytest.fixture(scope="package")
def world_summary(flow_settings, flow_data_dir) -> dict:
    """The world flow, run once."""
    from flows.build_world import build_world_flow

    return build_world_flow(flow_data_dir / "params.yaml")


@pytest.fixture(scope="package")
def hub_summary(world_summary, flow_settings, flow_data_dir, ray_cluster) -> dict:
    """The starter-hub flow, run once (after the world flow)."""
    from flows.build_starter_hub import build_starter_hub_flow

    return build_starter_hub_flow(flow_data_dir / "params.yaml", flow_data_dir / "hub.json")
