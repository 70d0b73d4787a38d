"""Byte-stable artefacts of `chess_nmf`: JSON with sorted keys, safetensors with sorted metadata.

Same inputs give byte-identical files, so checksums in manifests and DVC hashes only change with content.
safetensors writes its metadata map in hash-map order, which changes from one save to the next when it has
more than one key; we therefore store all metadata as one key, ``json``, holding key-sorted JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from superposition.io import atomic_save_safetensors, atomic_write_text, sha256_file

__all__ = ["write_json", "save_tensors", "load_tensors", "read_metadata", "tensor_file_record"]


def write_json(path: Path | str, payload: Any) -> None:
    """Indented JSON with sorted keys, written atomically (NaN/inf refused)."""
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_tensors(tensors: dict[str, torch.Tensor], path: Path | str, metadata: dict[str, str] | None = None) -> str:
    """Save safetensors (names sorted, metadata as one key-sorted JSON string) atomically; returns the SHA-256."""
    ordered = {name: tensors[name] for name in sorted(tensors)}
    atomic_save_safetensors(ordered, path, {"json": json.dumps(metadata or {}, sort_keys=True)})
    return sha256_file(path)


def read_metadata(path: Path | str) -> dict[str, Any]:
    """The metadata dict saved by :func:`save_tensors`."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("json", "{}"))


def load_tensors(path: Path | str, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file (all, or ``names``); never unpickles anything."""
    with safe_open(str(path), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in (names if names is not None else handle.keys())}


def tensor_file_record(path: Path | str) -> dict[str, str]:
    """{file, sha256} of an artefact file, for manifests."""
    return {"file": Path(path).name, "sha256": sha256_file(path)}
