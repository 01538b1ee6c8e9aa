"""params.yaml: the experiment parameters that DVC tracks, one typed section per stage.

`read_section(path, name, Model)` validates a section with its pydantic model, so a flow reads
attributes with their defaults in one place instead of `params.get(key, default)`. The world
(`hubscout.data.store.WorldParams`) and starter hub (`hubscout.starter.build.HubParams`)
sections keep their models beside the code they parametrise.
"""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hubscout.errors import ConfigError

Section = TypeVar("Section", bound=BaseModel)


class SelectionParams(BaseModel):
    """The `selection` section."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=1, ge=1, description="Models selected per class (reuse votes).")
    drawn_tasks: int = Field(
        default=60, ge=0, description="Tasks drawn from the graph per split (tuning, evaluation)."
    )
    drawn_per_class: int = Field(default=40, ge=1, description="Test images a drawn class.")
    seed: int = 0


class PathwayParams(BaseModel):
    """The `pathway` section."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=2, ge=1, description="Hub models the pathway runs per input.")
    seed: int = 0
    tasks: list[str] | None = Field(
        default=None, description="The named world tasks benchmarked; null: every one."
    )


class TransferabilityParams(BaseModel):
    """The `transferability` section."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    metrics: list[str] | None = Field(default=None, description="None: every metric.")
    fine_tune_tasks: list[str] = Field(default_factory=list)
    fine_tune_steps: int = Field(default=150, ge=1)


class IdentificationParams(BaseModel):
    """The `identification` section."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    reference_encoder: str | None = None
    spec_prompts: int = Field(default=48, ge=1)
    per_prompt: int = Field(default=16, ge=1)
    held_out_prompts: int = Field(default=32, ge=1)
    tuning_prompts: int = Field(default=16, ge=1)
    examples_per_prompt: int = Field(default=8, ge=1)
    rkme_points: int = Field(default=32, ge=1)
    rkme_samples: int = Field(default=2000, ge=1)
    # at least 50: the RKME benchmark draws up to 50 of them, the open set 20 from each half
    rkme_queries: int = Field(default=200, ge=50)
    rkme_encoder: str | None = None
    # at least 50: the RKME encoder is chosen by searches of up to 50 of them
    rkme_tuning_queries: int = Field(default=100, ge=50)


def read_params(path: Path, section: str) -> dict:
    """The `section` of a params.yaml file."""
    if not path.is_file():
        raise ConfigError(f"{path} not found: run from the repository root or pass --params")
    content = yaml.safe_load(path.read_text()) or {}
    if section not in content:
        raise ConfigError(f"{path} has no '{section}' section")
    return content[section] or {}


def read_section(path: Path, section: str, model: type[Section]) -> Section:
    """The `section` of a params.yaml file, validated by `model`."""
    try:
        return model(**read_params(path, section))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {section}.{where}: {first['msg']}") from error
