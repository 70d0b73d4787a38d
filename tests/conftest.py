"""Shared test helpers: small factories, never a real model or a hub."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    """The repository root."""
    return REPO


def random_batches(dim: int, batch_size: int, seed: int):
    """An endless stream of standard-normal batches (batch_size, dim) from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randn(batch_size, dim, generator=generator)
