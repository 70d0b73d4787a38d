"""Atomic writes: a failure never leaves a partial output behind."""

import json

import pytest
import torch
from safetensors.torch import load_file

from superposition.io import (
    atomic_path,
    atomic_save_safetensors,
    atomic_write_json,
    sha256_file,
    sweep_stale_temporaries,
)


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



def test_safetensors_bytes_do_not_depend_on_metadata_order(tmp_path):
    tensors = {"b": torch.ones(2), "a": torch.zeros(3)}
    digests = set()
    for index, order in enumerate([("x", "y", "z", "w"), ("w", "z", "y", "x"), ("y", "w", "x", "z")]):
        target = tmp_path / f"{index}.safetensors"
        atomic_save_safetensors(tensors, target, {key: key * 3 for key in order})
        digests.add(sha256_file(target))
        torch.testing.assert_close(load_file(str(target))["a"], tensors["a"])
    assert len(digests) == 1


def test_json_keys_are_sorted(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"b": 1, "a": {"d": 2, "c": 3}})
    assert (tmp_path / "x.json").read_text() == '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'


def test_stale_temporaries_of_dead_writers_are_swept_and_live_ones_kept(tmp_path):
    import os
    import subprocess
    import sys

    folder = tmp_path / "results" / "exp"
    folder.mkdir(parents=True)
    with pytest.raises(RuntimeError):
        with atomic_path(folder / "live.json") as live:
            live.write_text("being written")
            dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                      text=True, check=True).stdout.strip()
            stale = folder / live.name.replace(f"-{os.getpid()}.", f"-{dead_pid}.")
            stale.write_text("left by a killed job")
            foreign = folder / ".other.json.elsewhere-1.abc.tmp"
            foreign.write_text("a cluster job's")
            assert sweep_stale_temporaries([tmp_path / "results", tmp_path / "missing"]) == [stale]
            assert live.exists() and foreign.exists() and not stale.exists()
            raise RuntimeError("writer fails")
    assert sorted(p.name for p in folder.iterdir()) == [foreign.name]
