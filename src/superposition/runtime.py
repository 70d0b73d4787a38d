"""Where computations run: device choice and random-number generators derived from config seeds."""

from __future__ import annotations

import ctypes
import functools
import hashlib

import torch

__all__ = ["resolve_device", "make_generator", "retain_freed_memory", "DEVICE_CHOICES"]

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when present, else CPU; ``cuda`` fails clearly on a machine without a GPU."""
    if name not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but torch sees no CUDA GPU; set device: auto or cpu")
    return torch.device(name)


def derived_seed(seed: int, *keys: object) -> int:
    """A stable 63-bit seed for the thing named ``keys`` under ``seed`` (independent of every other key)."""
    digest = hashlib.sha256(":".join(str(part) for part in (seed, *keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch random-number generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)


@functools.cache
def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of handing it back to the kernel.

    Training loops free and re-allocate the same large tensors every step. By default glibc serves each one
    with fresh pages from the kernel, and their page faults cost 10–30 % of a CPU training step here; with this
    setting a step reuses the previous step's memory. Process-wide and idempotent; returns whether it took
    effect (False where the C library is not glibc).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, (1 << 31) - 1))
