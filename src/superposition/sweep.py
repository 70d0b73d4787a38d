"""Train a whole L1-coefficient × dictionary-size grid of SAEs as one batched computation.

Every SAE of the grid sees the same stream of batches. Models of one dictionary size are stacked
(:class:`~superposition.sae.SAEStack`) and advance together with batched matmuls; one Adam optimiser holds
all stacks (Adam is elementwise, so the models stay independent). Each model's initialisation comes from
its own seed (:func:`~superposition.sae.model_seed`), so training one grid point alone with the same seed
and batches reproduces it: the tests check this equivalence.

Dead latents are tracked as in the report: a counter per latent of the training batches since it last had a
non-zero activation; at the end a latent is dead if that counter reaches the window T.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tqdm.auto import tqdm

from superposition.io import atomic_save_safetensors
from superposition.runtime import retain_freed_memory
from superposition.sae import SAEStack, loss_and_gradients

__all__ = ["SweepGrid", "TrainedSweep", "load_sweep", "save_sweep", "sizes_from_ratios", "train_sweep"]


@dataclass(frozen=True)
class SweepGrid:
    """The rectangular grid: every L1 coefficient with every dictionary size."""

    l1_coefficients: tuple[float, ...]
    dict_sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.l1_coefficients or not self.dict_sizes:
            raise ValueError("a sweep needs at least one L1 coefficient and one dictionary size")
        if len(set(self.l1_coefficients)) != len(self.l1_coefficients):
            raise ValueError(f"repeated L1 coefficients in {self.l1_coefficients}")
        if len(set(self.dict_sizes)) != len(self.dict_sizes):
            raise ValueError(f"repeated dictionary sizes in {self.dict_sizes}")
        if min(self.dict_sizes) < 1 or min(self.l1_coefficients) < 0:
            raise ValueError("dictionary sizes must be ≥ 1 and L1 coefficients ≥ 0")

    @property
    def n_models(self) -> int:
        return len(self.l1_coefficients) * len(self.dict_sizes)

    def total_latents(self) -> int:
        """Σ over models of J: the width of one step's computation."""
        return len(self.l1_coefficients) * sum(self.dict_sizes)


def sizes_from_ratios(unit: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Dictionary sizes J = ratio × unit (G on toy data, d on activations); each must be a whole number."""
    sizes = []
    for ratio in ratios:
        size = ratio * unit
        if abs(size - round(size)) > 1e-9 or round(size) < 1:
            raise ValueError(f"dict ratio {ratio} × {unit} = {size} is not a whole number of latents")
        sizes.append(round(size))
    return tuple(sizes)


@dataclass
class TrainedSweep:
    """The result of :func:`train_sweep`.

    Attributes:
        grid: the grid trained.
        stacks: one :class:`SAEStack` per dictionary size (in ``grid.dict_sizes`` order), each over all L1s.
        steps_since_fired: per stack, (n_l1, J) int: training batches since each latent last fired.
        history_steps: (n_logs,) the steps at which losses were logged.
        history_reconstruction, history_l1: (n_logs, n_sizes, n_l1) training-batch losses at those steps.
        steps: the number of optimiser steps taken.
        metadata: free-form provenance strings stored with the weights (e.g. the training config as JSON).
    """

    grid: SweepGrid
    stacks: list[SAEStack]
    steps_since_fired: list[torch.Tensor]
    history_steps: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    history_reconstruction: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    history_l1: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    steps: int = 0
    metadata: dict[str, str] = field(default_factory=dict)


def train_sweep(
    batches: Iterator[torch.Tensor],
    dim: int,
    grid: SweepGrid,
    steps: int,
    lr: float,
    seed: int,
    device: torch.device | str = "cpu",
    log_every: int = 100,
    progress: bool = True,
) -> TrainedSweep:
    """Train every SAE of ``grid`` on ``steps`` batches of shape (batch, dim) drawn from ``batches``.

    Adam (PyTorch defaults besides ``lr``); the per-model initialisation is seeded from ``seed``.
    """
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    stacks = [
        SAEStack.create(dim, size, list(grid.l1_coefficients), seed).to(device) for size in grid.dict_sizes
    ]
    params = [p for stack in stacks for p in stack.parameters()]
    optimizer = torch.optim.Adam(params, lr=lr, fused=torch.device(device).type in ("cpu", "cuda"))
    counters = [torch.zeros(s.n_models, s.dict_size, dtype=torch.int32, device=device) for s in stacks]
    retain_freed_memory()
    logged_steps, logged_rec, logged_l1 = [], [], []

    bar = tqdm(range(1, steps + 1), desc="sweep", unit="step", disable=not progress, file=sys.stderr,
               mininterval=2.0)
    for step in bar:
        x = next(batches).to(device, non_blocking=True)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"batch of shape {tuple(x.shape)} does not match (batch, {dim})")
        step_rec, step_l1 = [], []
        for stack, counter in zip(stacks, counters):
            reconstruction, l1, codes, grads = loss_and_gradients(x, stack)
            for param, grad in zip(stack.parameters(), grads):
                param.grad = grad
            fired = (codes > 0).any(dim=1)  # (n_l1, J): latents active on this batch
            counter.add_(1).masked_fill_(fired, 0)
            step_rec.append(reconstruction)
            step_l1.append(l1)
        optimizer.step()
        if step % log_every == 0 or step == steps:
            rec, l1 = torch.stack(step_rec).cpu(), torch.stack(step_l1).cpu()
            logged_steps.append(step)
            logged_rec.append(rec)
            logged_l1.append(l1)
            bar.set_postfix(rec=f"{rec.mean():.2e}", l1=f"{l1.mean():.2e}", refresh=False)
    for param in params:
        param.grad = None
    return TrainedSweep(
        grid=grid,
        stacks=[stack.to("cpu") for stack in stacks],
        steps_since_fired=[counter.cpu() for counter in counters],
        history_steps=torch.tensor(logged_steps, dtype=torch.long),
        history_reconstruction=torch.stack(logged_rec),
        history_l1=torch.stack(logged_l1),
        steps=steps,
    )


def save_sweep(trained: TrainedSweep, path: Path) -> None:
    """Write a trained sweep to one safetensors file (grid and step count in its metadata)."""
    tensors: dict[str, torch.Tensor] = {
        "history_steps": trained.history_steps,
        "history_reconstruction": trained.history_reconstruction,
        "history_l1": trained.history_l1,
    }
    for stack, counter in zip(trained.stacks, trained.steps_since_fired):
        prefix = f"J{stack.dict_size}"
        tensors[f"{prefix}.W_enc"] = stack.w_enc
        tensors[f"{prefix}.b_enc"] = stack.b_enc
        tensors[f"{prefix}.W_dec"] = stack.w_dec
        tensors[f"{prefix}.l1_coefficients"] = stack.l1_coefficients
        tensors[f"{prefix}.steps_since_fired"] = counter
    metadata = {
        **trained.metadata,
        "l1_coefficients": json.dumps(list(trained.grid.l1_coefficients)),
        "dict_sizes": json.dumps(list(trained.grid.dict_sizes)),
        "steps": str(trained.steps),
    }
    atomic_save_safetensors(tensors, path, metadata)


def load_sweep(path: Path) -> TrainedSweep:
    """Read a sweep written by :func:`save_sweep`."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    grid = SweepGrid(tuple(json.loads(metadata["l1_coefficients"])), tuple(json.loads(metadata["dict_sizes"])))
    stacks, counters = [], []
    for size in grid.dict_sizes:
        prefix = f"J{size}"
        stacks.append(SAEStack(tensors[f"{prefix}.W_enc"], tensors[f"{prefix}.b_enc"], tensors[f"{prefix}.W_dec"],
                               tensors[f"{prefix}.l1_coefficients"]))
        counters.append(tensors[f"{prefix}.steps_since_fired"])
    extra = {k: v for k, v in metadata.items() if k not in ("l1_coefficients", "dict_sizes", "steps")}
    return TrainedSweep(grid, stacks, counters, tensors["history_steps"], tensors["history_reconstruction"],
                        tensors["history_l1"], int(metadata["steps"]), extra)
