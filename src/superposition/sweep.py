"""Train whole grids of SAEs — architecture × sparsity value × dictionary size — as one batched computation.

A :class:`SweepGrid` is one architecture's part: every sparsity value (the L1 coefficient, k or the L0
coefficient) with every dictionary size, and its optimiser settings. Every SAE of every grid sees the same
stream of batches; the models of one architecture advance together (:class:`~superposition.sweep_block.Block`:
cache-sized chunks of models, each finished with its own fused Adam update; Adam is elementwise, so the models
stay independent; each architecture has its own optimiser settings). Each model's
initialisation comes from its own seed (:func:`~superposition.sae.model_seed`), so training one grid point alone
with the same seed and batches reproduces it: the tests check this equivalence for every architecture.

Dead latents are tracked as in Sharkey et al.: a counter per latent of the training batches since it last had a
non-zero activation; at the end a latent is dead if that counter reaches the window T. AuxK (topk, batchtopk)
reads the same counters during training with its own window.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tqdm.auto import tqdm

from superposition.config import from_dict
from superposition.io import atomic_save_safetensors
from superposition.runtime import retain_freed_memory
from superposition.sae import AdamSettings, ArchitectureOptions, SAEStack, get_architecture
from superposition.sweep_block import Block

__all__ = ["SweepGrid", "TrainedSweep", "GridPoint", "load_sweep", "save_sweep", "sizes_from_ratios", "train_sweep"]


@dataclass(frozen=True)
class SweepGrid:
    """One architecture's rectangular grid (every sparsity value with every dictionary size) and its optimiser."""

    architecture: str
    sparsities: tuple[float, ...]
    dict_sizes: tuple[int, ...]
    lr: float = 1e-3
    adam: AdamSettings = field(default_factory=AdamSettings)
    options: ArchitectureOptions = field(default_factory=ArchitectureOptions)

    def __post_init__(self) -> None:
        arch = get_architecture(self.architecture)
        if not self.sparsities or not self.dict_sizes:
            raise ValueError("a sweep needs at least one sparsity value and one dictionary size")
        if len(set(self.sparsities)) != len(self.sparsities):
            raise ValueError(f"repeated sparsity values in {self.sparsities}")
        if len(set(self.dict_sizes)) != len(self.dict_sizes):
            raise ValueError(f"repeated dictionary sizes in {self.dict_sizes}")
        if min(self.dict_sizes) < 1:
            raise ValueError("dictionary sizes must be ≥ 1")
        for value in self.sparsities:
            arch.check_sparsity(value, min(self.dict_sizes))

    @property
    def n_models(self) -> int:
        return len(self.sparsities) * len(self.dict_sizes)

    def total_latents(self) -> int:
        """Σ over models of J: the width of one step's computation."""
        return len(self.sparsities) * sum(self.dict_sizes)

    def to_json(self) -> dict:
        """A JSON-safe description (stored with the weights)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SweepGrid":
        return cls(data["architecture"], tuple(data["sparsities"]), tuple(data["dict_sizes"]), data["lr"],
                   from_dict(AdamSettings, data["adam"]), from_dict(ArchitectureOptions, data["options"]))


def sizes_from_ratios(unit: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Dictionary sizes J = ratio × unit (G on toy data, d on activations); each must be a whole number."""
    sizes = []
    for ratio in ratios:
        size = ratio * unit
        if abs(size - round(size)) > 1e-9 or round(size) < 1:
            raise ValueError(f"dict ratio {ratio} × {unit} = {size} is not a whole number of latents")
        sizes.append(round(size))
    return tuple(sizes)


@dataclass(frozen=True)
class GridPoint:
    """One trained model: its grid, the indices of its size and sparsity value, and its stack."""

    grid: SweepGrid
    size_index: int
    sparsity_index: int
    stack: SAEStack

    @property
    def architecture(self) -> str:
        return self.grid.architecture

    @property
    def dict_size(self) -> int:
        return self.grid.dict_sizes[self.size_index]

    @property
    def sparsity(self) -> float:
        return self.grid.sparsities[self.sparsity_index]

    def model(self) -> SAEStack:
        """The model alone, as a stack of one."""
        return self.stack.select(self.sparsity_index)


@dataclass
class TrainedSweep:
    """The result of :func:`train_sweep`.

    Attributes:
        grids: the grids trained, one per architecture.
        stacks: (architecture, J) -> the :class:`SAEStack` of that size over all the grid's sparsity values.
        steps_since_fired: (architecture, J) -> (n_sparsities, J) int: training batches since each latent fired.
        history_steps: (n_logs,) the steps at which losses were logged.
        history_reconstruction, history_penalty: architecture -> (n_logs, n_sizes, n_sparsities) training-batch
            losses at those steps (the penalty is the objective's second term, see ``superposition.sae.Losses``).
        steps: the number of optimiser steps taken.
        metadata: free-form provenance strings stored with the weights (e.g. the training config as JSON).
    """

    grids: tuple[SweepGrid, ...]
    stacks: dict[tuple[str, int], SAEStack]
    steps_since_fired: dict[tuple[str, int], torch.Tensor]
    history_steps: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    history_reconstruction: dict[str, torch.Tensor] = field(default_factory=dict)
    history_penalty: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def grid(self) -> SweepGrid:
        """The grid of a single-architecture sweep."""
        if len(self.grids) != 1:
            raise ValueError(f"this sweep has {len(self.grids)} architectures; use .grids")
        return self.grids[0]

    def points(self) -> Iterator[GridPoint]:
        """Every trained model, grid by grid, size by size, then sparsity value."""
        for grid in self.grids:
            for size_index, size in enumerate(grid.dict_sizes):
                for sparsity_index in range(len(grid.sparsities)):
                    yield GridPoint(grid, size_index, sparsity_index, self.stacks[grid.architecture, size])


def train_sweep(
    batches: Iterator[torch.Tensor],
    dim: int,
    grids: SweepGrid | Sequence[SweepGrid],
    steps: int,
    seed: int,
    device: torch.device | str = "cpu",
    log_every: int = 100,
    progress: bool = True,
    init_data: torch.Tensor | None = None,
) -> TrainedSweep:
    """Train every SAE of ``grids`` on ``steps`` batches of shape (batch, dim) drawn from ``batches``.

    Adam with each grid's settings; the per-model initialisation is seeded from ``seed``; ``init_data`` (N, dim)
    is the sample that data-initialised architectures (topk, batchtopk, jumprelu) start from.
    """
    grids = (grids,) if isinstance(grids, SweepGrid) else tuple(grids)
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    if len({grid.architecture for grid in grids}) != len(grids):
        raise ValueError("each architecture may appear in only one grid of a sweep")
    blocks = []
    for grid in grids:
        arch = get_architecture(grid.architecture)
        if arch.needs_data and init_data is None:
            raise ValueError(f"{grid.architecture} initialises from data: pass init_data")
        data = init_data if arch.needs_data else None
        stacks = [arch.init_stack(dim, size, grid.sparsities, seed, grid.options, data) for size in grid.dict_sizes]
        blocks.append(Block(stacks, grid.options, device, grid.lr, grid.adam))
    retain_freed_memory()
    logged_steps: list[int] = []
    logged = {grid.architecture: ([], []) for grid in grids}

    bar = tqdm(range(1, steps + 1), desc="sweep", unit="step", disable=not progress, file=sys.stderr,
               mininterval=2.0)
    for step in bar:
        x = next(batches).to(device, non_blocking=True)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"batch of shape {tuple(x.shape)} does not match (batch, {dim})")
        report = step % log_every == 0 or step == steps
        results = [block.step(x, step, report=report)[0] for block in blocks]
        if report:
            logged_steps.append(step)
            for grid, stack_results in zip(grids, results):
                logged[grid.architecture][0].append(torch.stack([r.reconstruction for r in stack_results]).cpu())
                logged[grid.architecture][1].append(torch.stack([r.penalty for r in stack_results]).cpu())
            first = logged[grids[0].architecture]
            bar.set_postfix(rec=f"{first[0][-1].mean():.2e}", penalty=f"{first[1][-1].mean():.2e}", refresh=False)
    finishing = [grid.options.threshold_batches for grid in grids if grid.architecture == "batchtopk"]
    extra = [next(batches).to(device) for _ in range(max(finishing, default=0))]
    stacks, counters = {}, {}
    for grid, block in zip(grids, blocks):
        for stack in block.stacks:
            block.arch.finish_training(stack, extra[: grid.options.threshold_batches], grid.options)
        for size, stack, counter in zip(grid.dict_sizes, block.release(), block.counters):
            stacks[grid.architecture, size] = stack
            counters[grid.architecture, size] = counter.cpu()
    return TrainedSweep(
        grids=grids, stacks=stacks, steps_since_fired=counters,
        history_steps=torch.tensor(logged_steps, dtype=torch.long),
        history_reconstruction={arch: torch.stack(rec) for arch, (rec, _) in logged.items()},
        history_penalty={arch: torch.stack(pen) for arch, (_, pen) in logged.items()},
        steps=steps,
    )


def save_sweep(trained: TrainedSweep, path: Path) -> None:
    """Write a trained sweep to one safetensors file: tensors keyed ``<architecture>.J<size>.<name>``, the grids
    and the step count in its metadata."""
    tensors: dict[str, torch.Tensor] = {"history_steps": trained.history_steps}
    for grid in trained.grids:
        tensors[f"{grid.architecture}.history_reconstruction"] = trained.history_reconstruction[grid.architecture]
        tensors[f"{grid.architecture}.history_penalty"] = trained.history_penalty[grid.architecture]
        for size in grid.dict_sizes:
            prefix = f"{grid.architecture}.J{size}"
            for name, tensor in trained.stacks[grid.architecture, size].tensors().items():
                tensors[f"{prefix}.{name}"] = tensor
            tensors[f"{prefix}.steps_since_fired"] = trained.steps_since_fired[grid.architecture, size]
    metadata = {**trained.metadata, "grids": json.dumps([grid.to_json() for grid in trained.grids]),
                "steps": str(trained.steps)}
    atomic_save_safetensors(tensors, path, metadata)


def load_sweep(path: Path) -> TrainedSweep:
    """Read a sweep written by :func:`save_sweep`."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    if "grids" not in metadata:
        raise ValueError(f"{path}: a sweep file from before the SAE architectures (no 'grids' metadata); "
                         "retrain it with the current code (snakemake reruns training when the code changes)")
    tensors = load_file(str(path))
    grids = tuple(SweepGrid.from_json(entry) for entry in json.loads(metadata["grids"]))
    stacks, counters = {}, {}
    for grid in grids:
        arch = get_architecture(grid.architecture)
        for size in grid.dict_sizes:
            prefix = f"{grid.architecture}.J{size}."
            own = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
            counters[grid.architecture, size] = own.pop("steps_since_fired")
            params = {name: own.pop(name) for name in arch.param_names}
            stacks[grid.architecture, size] = SAEStack(grid.architecture, grid.sparsities, params, own)
    extra = {k: v for k, v in metadata.items() if k not in ("grids", "steps")}
    return TrainedSweep(grids, stacks, counters, tensors["history_steps"],
                        {g.architecture: tensors[f"{g.architecture}.history_reconstruction"] for g in grids},
                        {g.architecture: tensors[f"{g.architecture}.history_penalty"] for g in grids},
                        int(metadata["steps"]), extra)
