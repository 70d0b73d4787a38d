"""Atomic file writes: every output is written to a temporary file in its folder, then renamed.

A killed run therefore never leaves a half-written output that Snakemake or DVC would take as complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_json", "atomic_save_safetensors", "read_json",
           "sha256_file"]


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, 0o644)
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def atomic_write_json(path: Path | str, payload: Any) -> None:
    """Write ``payload`` as indented JSON atomically; NaN/inf are refused (they are not JSON)."""
    atomic_write_text(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def read_json(path: Path | str) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def atomic_save_safetensors(
    tensors: dict[str, torch.Tensor], path: Path | str, metadata: dict[str, str] | None = None
) -> None:
    """Save tensors (made contiguous) as safetensors atomically."""
    contiguous = {name: tensor.detach().contiguous() for name, tensor in tensors.items()}
    with atomic_path(path) as temporary:
        save_file(contiguous, str(temporary), metadata=metadata)


def sha256_file(path: Path | str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
