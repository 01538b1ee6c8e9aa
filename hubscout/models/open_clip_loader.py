"""open_clip loader: `open_clip:<arch>/<pretrained tag>` and `open_clip:<arch>@<checkpoint>`.

Architectures are open_clip's own plus the JSON model configs in hubscout/models/configs/
(the model name is the file stem). Local checkpoints are read safely (no pickle).
"""

import logging
from functools import cache
from pathlib import Path

import open_clip
import torch

from hubscout.errors import NetworkRequiredError, SourceError, UnknownArchitectureError
from hubscout.models.base import Preprocessing, VisionLanguageModel
from hubscout.models.checkpoints import content_hash, load_weights, read_state_dict

CONFIG_DIR = Path(__file__).parent / "configs"


@cache
def register_configs() -> None:
    """Make hubscout's JSON model configs known to open_clip (once per process)."""
    open_clip.add_model_config(CONFIG_DIR)


def architectures() -> list[str]:
    """Every architecture name the loader knows (open_clip's and hubscout's configs)."""
    register_configs()
    return open_clip.list_models()


def load(rest: str, device: torch.device) -> VisionLanguageModel:
    """Build the model from its config and load its weights."""
    register_configs()
    source = f"open_clip:{rest}"
    if "@" in rest:
        arch, _, checkpoint = rest.partition("@")
        _check_architecture(arch, source)
        state_dict = read_state_dict(Path(checkpoint).expanduser())
        module = create_untrained(arch)
        load_weights(module, state_dict, source)
    elif "/" in rest:
        arch, _, tag = rest.partition("/")
        _check_architecture(arch, source)
        module = _create_pretrained(arch, tag, source)
        state_dict = module.state_dict()
    else:
        raise SourceError(
            f"{source!r} names no weights: write open_clip:<arch>/<pretrained tag> or "
            "open_clip:<arch>@<checkpoint file>"
        )
    config = open_clip.get_model_config(arch)
    return VisionLanguageModel(
        source=source,
        content_hash=content_hash({"open_clip": arch, **config}, state_dict),
        device=device,
        module=module,
        tokenizer=open_clip.get_tokenizer(arch),
        preprocessing=_preprocessing(module),
    )


def _check_architecture(arch: str, source: str) -> None:
    if arch not in open_clip.list_models():
        raise UnknownArchitectureError(
            f"unknown open_clip architecture {arch!r} in {source!r}: run `hubscout models` "
            f"to list them, or add a JSON config to {CONFIG_DIR}"
        )


def create_untrained(arch: str) -> torch.nn.Module:
    """The architecture with random weights, without open_clip's 'initialized randomly' warning."""
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(arch, pretrained=None, device="cpu")
    finally:
        logging.disable(logging.NOTSET)


def pretrained_tags(arch: str) -> list[str]:
    """The pretrained tags open_clip knows for `arch` (each downloads its weights)."""
    return open_clip.list_pretrained_tags_by_model(arch)


def _create_pretrained(arch: str, tag: str, source: str) -> torch.nn.Module:
    if tag not in pretrained_tags(arch):
        known = ", ".join(pretrained_tags(arch)) or "none"
        raise UnknownArchitectureError(
            f"open_clip has no pretrained tag {tag!r} for {arch} (known: {known})"
        )
    try:
        return open_clip.create_model(arch, pretrained=tag, device="cpu")
    except (OSError, RuntimeError) as error:
        raise NetworkRequiredError(
            f"the weights of {source} are not on this machine and could not be fetched "
            f"({type(error).__name__}): download them on a connected machine, then register "
            f"open_clip:{arch}@<checkpoint file>"
        ) from error


def _preprocessing(module: torch.nn.Module) -> Preprocessing:
    config = module.visual.preprocess_cfg
    size = config["size"]
    size = size if isinstance(size, int) else size[0]
    return Preprocessing(image_size=size, mean=tuple(config["mean"]), std=tuple(config["std"]))
