"""Where computations run: device choice and random-number generators derived from config seeds."""

from __future__ import annotations

import torch

__all__ = ["resolve_device", "make_generator", "DEVICE_CHOICES"]

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


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch random-number generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)
