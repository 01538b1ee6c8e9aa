"""params.yaml: the experiment parameters that DVC tracks, one section per stage."""

from pathlib import Path

import yaml

from hubscout.errors import ConfigError


def read_params(path: Path, section: str) -> dict:
    """The `section` of a params.yaml file."""
    if not path.is_file():
        raise ConfigError(f"{path} not found: run from the repository root or pass --params")
    content = yaml.safe_load(path.read_text()) or {}
    if section not in content:
        raise ConfigError(f"{path} has no '{section}' section")
    return content[section] or {}
