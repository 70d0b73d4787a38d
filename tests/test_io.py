"""Atomic writes: a failure never leaves a partial output behind."""

import json

import pytest
import torch
from safetensors.torch import load_file

from superposition.io import atomic_path, atomic_save_safetensors, atomic_write_json, sha256_file


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out" / "file.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_path_replaces_existing_file_only_on_success(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("new")
            raise RuntimeError
    assert target.read_text() == "old"
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new"


def test_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"a": float("nan")})
    atomic_write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}


def test_safetensors_round_trip_and_checksum(tmp_path):
    tensors = {"w": torch.arange(6.0).reshape(2, 3).T}  # non-contiguous on purpose
    atomic_save_safetensors(tensors, tmp_path / "w.safetensors", {"k": "v"})
    torch.testing.assert_close(load_file(str(tmp_path / "w.safetensors"))["w"], tensors["w"])
    assert len(sha256_file(tmp_path / "w.safetensors")) == 64

