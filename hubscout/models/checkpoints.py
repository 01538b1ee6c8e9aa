"""Safe checkpoint reading and content hashing.

Checkpoints are read without executing code: safetensors files directly, torch files with
`weights_only=True`. Every failure becomes a typed error that says what to do.
"""

import hashlib
import json
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from hubscout.errors import (
    CheckpointMissingError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
    WeightsMismatchError,
)


def check_checkpoint(path: Path) -> None:
    """Raise the typed error that reading the checkpoint would, without loading its tensors
    into memory: a safetensors file's header, a torch file memory-mapped."""
    if path.suffix != ".safetensors":
        read_state_dict(path, mmap=True)
        return
    try:
        with safe_open(str(path), framework="pt") as checkpoint:
            names = list(checkpoint.keys())
    except (SafetensorError, OSError, ValueError) as error:
        raise CorruptCheckpointError(
            f"checkpoint {path} is truncated or not a safetensors file ({error}): "
            "re-export or re-download it"
        ) from error
    if not names:
        raise CorruptCheckpointError(f"checkpoint {path} holds no tensors: save a state dict")


def read_state_dict(path: Path, mmap: bool = False) -> dict[str, torch.Tensor]:
    """Read a state dict from a .safetensors or torch file, refusing anything that needs
    pickle; `mmap` maps a torch zip file's tensors instead of reading them."""
    if not path.is_file():
        raise CheckpointMissingError(
            f"checkpoint {path} does not exist: check the path in the source URI"
        )
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as error:
            raise CorruptCheckpointError(
                f"checkpoint {path} is truncated or not a safetensors file ({error}): "
                "re-export or re-download it"
            ) from error
    try:
        mapped = mmap and zipfile.is_zipfile(path)  # the legacy format cannot be mapped
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" in str(error):
            raise UnsafeCheckpointError(
                f"checkpoint {path} contains pickled Python objects that would run code on load; "
                "hubscout refuses it: save a plain state_dict (torch.save(model.state_dict())) "
                "or a .safetensors file"
            ) from error
        raise _corrupt(path, error) from error
    except Exception as error:  # a damaged file can break the unpickler in any way
        raise _corrupt(path, error) from error
    return _tensor_mapping(loaded, path)


def _corrupt(path: Path, error: Exception) -> CorruptCheckpointError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return CorruptCheckpointError(
        f"checkpoint {path} is truncated or corrupt ({reason}): re-export or re-download it"
    )


def _tensor_mapping(loaded: Any, path: Path) -> dict[str, torch.Tensor]:
    """Unwrap {'state_dict': ...} and a DataParallel 'module.' prefix; demand name -> tensor."""
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not loaded:
        raise CorruptCheckpointError(
            f"checkpoint {path} holds no state dict (a mapping of parameter names to tensors): "
            "save model.state_dict()"
        )
    if not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CorruptCheckpointError(
            f"checkpoint {path} mixes tensors with other objects: save model.state_dict() alone"
        )
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def load_weights(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Load `state_dict` strictly into `module`; a mismatch names the first offending keys."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(
        key
        for key in set(expected) & set(state_dict)
        if tuple(expected[key].shape) != tuple(state_dict[key].shape)
    )
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong_shape:
            key = wrong_shape[0]
            parts.append(
                f"{len(wrong_shape)} with the wrong shape (e.g. {key}: checkpoint "
                f"{list(state_dict[key].shape)}, architecture {list(expected[key].shape)})"
            )
        raise WeightsMismatchError(
            f"the weights of {source} do not fit the architecture: {'; '.join(parts)}. "
            "Check that the URI names the architecture the checkpoint was trained with"
        )
    module.load_state_dict(state_dict, strict=True)


def content_hash(config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the canonical config and every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{list(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
