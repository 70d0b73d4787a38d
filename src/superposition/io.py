"""Atomic file writes: every output is written to a temporary file in its folder, then renamed.

A killed run therefore never leaves a half-written output that Snakemake or DVC would take as complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where tensors are written: the Snakefile imports this module to recover
    import torch

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_json", "atomic_save_safetensors", "read_json",
           "sha256_file", "sweep_stale_temporaries", "canonical_safetensors_header"]

log = logging.getLogger(__name__)

_HOST = socket.gethostname().replace(".", "_").replace("-", "_")
# .<name>.<host>-<pid>.<random>.tmp, as atomic_path names its temporaries.
_TEMPORARY = re.compile(r"^\..+\.(?P<host>[^.\-]+)-(?P<pid>\d+)\.[^.]+\.tmp$")


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success flush it, rename it onto ``path`` and flush the folder;
    on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{_HOST}-{os.getpid()}.",
                                         suffix=".tmp")
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, 0o644)
        with open(temporary_path, "rb+") as written:  # the data reaches the disk before the name does
            os.fsync(written.fileno())
        os.replace(temporary_path, path)
        _fsync_directory(path.parent)
    finally:
        temporary_path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def sweep_stale_temporaries(roots: Iterable[Path | str]) -> list[Path]:
    """Delete the temporaries of :func:`atomic_path` under ``roots`` whose writer (a process on this host) is gone.

    A killed job leaves its temporary behind; inside an output folder that DVC tracks whole it would otherwise be
    cached with the folder. Temporaries of live processes and of other hosts (cluster jobs) are kept.
    Returns the deleted paths.
    """
    removed = []
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for folder, _, files in os.walk(root):
            for name in files:
                match = _TEMPORARY.match(name)
                if match and match["host"] == _HOST and not _pid_alive(int(match["pid"])):
                    stale = Path(folder) / name
                    stale.unlink(missing_ok=True)
                    removed.append(stale)
    return removed


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def atomic_write_json(path: Path | str, payload: Any) -> None:
    """Write ``payload`` as indented JSON with sorted keys, atomically; NaN/inf are refused (they are not JSON)."""
    atomic_write_text(path, json.dumps(payload, indent=2, allow_nan=False, sort_keys=True) + "\n")


def read_json(path: Path | str) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def canonical_safetensors_header(path: Path | str) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys, in place: the same tensors and metadata always
    give the same bytes (the library writes its metadata map in random order)."""
    with open(path, "rb+") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        raw = handle.read(length)
        header = json.loads(raw)
        canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if len(canonical) > length:  # cannot happen for a compact header; refuse rather than corrupt
            raise ValueError(f"{path}: canonical safetensors header longer than the original")
        handle.seek(8)
        handle.write(canonical + b" " * (length - len(canonical)))  # the format pads headers with spaces


def atomic_save_safetensors(
    tensors: dict[str, "torch.Tensor"], path: Path | str, metadata: dict[str, str] | None = None
) -> None:
    """Save tensors (made contiguous) as safetensors atomically, with a canonical (sorted) header."""
    from safetensors.torch import save_file

    contiguous = {name: tensor.detach().contiguous() for name, tensor in tensors.items()}
    with atomic_path(path) as temporary:
        save_file(contiguous, str(temporary), metadata=metadata)
        canonical_safetensors_header(temporary)


def sha256_file(path: Path | str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
