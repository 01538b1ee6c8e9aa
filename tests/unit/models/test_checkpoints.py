import collections

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from hubscout.errors import (
    CheckpointMissingError,
    CorruptCheckpointError,
    UnsafeCheckpointError,
    WeightsMismatchError,
)
from hubscout.models.checkpoints import content_hash, load_weights, read_state_dict


def _linear_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return nn.Linear(4, 3).state_dict()


def test_reads_plain_wrapped_and_safetensors_state_dicts(tmp_path):
    state = _linear_state()
    torch.save(state, tmp_path / "plain.pt")
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrap.pt")
    save_file(state, str(tmp_path / "w.safetensors"))
    for name in ("plain.pt", "wrap.pt", "w.safetensors"):
        loaded = read_state_dict(tmp_path / name)
        assert set(loaded) == {"weight", "bias"}
        assert torch.equal(loaded["weight"], state["weight"])


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointMissingError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pt")


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_truncated_checkpoint_is_reported_as_corrupt(tmp_path, suffix):
    path = tmp_path / f"w{suffix}"
    if suffix == ".pt":
        torch.save(_linear_state(), path)
    else:
        save_file(_linear_state(), str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match="truncated or"):
        read_state_dict(path)


def test_garbage_bytes_are_reported_as_corrupt(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    with pytest.raises(CorruptCheckpointError):
        read_state_dict(path)


class Exploit:
    """Unpickling this would run a shell command."""

    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_checkpoint_that_needs_code_execution_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1), "payload": Exploit()}, path)
    with pytest.raises(UnsafeCheckpointError, match="refuses it"):
        read_state_dict(path)


def test_a_checkpoint_of_non_tensors_is_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CorruptCheckpointError, match="no state dict"):
        read_state_dict(path)


def test_load_weights_names_missing_unexpected_and_misshapen_keys():
    module = nn.Linear(4, 3)
    wrong = collections.OrderedDict(weight=torch.zeros(3, 5), extra=torch.zeros(1))
    with pytest.raises(WeightsMismatchError) as caught:
        load_weights(module, wrong, "test:model")
    message = str(caught.value)
    assert "1 missing (e.g. bias)" in message
    assert "1 unexpected (e.g. extra)" in message
    assert "weight: checkpoint [3, 5], architecture [3, 4]" in message


def test_content_hash_changes_with_weights_and_config_only():
    state = _linear_state()
    same = {k: v.clone() for k, v in state.items()}
    assert content_hash({"a": 1}, state) == content_hash({"a": 1}, same)
    assert content_hash({"a": 1}, state) != content_hash({"a": 2}, state)
    same["bias"][0] += 1e-3
    assert content_hash({"a": 1}, state) != content_hash({"a": 1}, same)
