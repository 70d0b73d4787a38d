"""Training stage of `random_vs_trained`: one TopK SAE per (variant, site) cell, all cells in one computation.

Every cell reads its own cache ``<activations>/<variant>/<site>``. The caches of one model hold the same tokens in
the same order for every variant (same corpus, same batching), and every cell's stream of batches comes from the
same seed, so all SAEs see the same tokens in the same order: differences between cells come from the variants'
activations, not from sampling. All cells also start from the same encoder initialisation (seeded by
``train.seed``); b_dec and the loss normaliser come from each cell's own initialisation sample.

Interpretations: no AuxK (the paper does not say it used one; dead latents are measured, not revived); each cell's
activations are multiplied by one scalar so that E‖x‖² = d (Gao et al.), stored with the weights.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from superposition.io import atomic_save_safetensors
from superposition.lm.activations import ActivationError, ActivationReader
from superposition.random_vs_trained.config import RVTTrainConfig
from superposition.random_vs_trained.sae import CellSAEs, topk_gradients
from superposition.runtime import derived_seed, make_generator, resolve_device
from superposition.sae.base import project_out_radial_, renormalise_rows_
from superposition.sae.options import ArchitectureOptions
from superposition.sae.topk import TOPK

log = logging.getLogger(__name__)

__all__ = ["cell_name", "split_shards", "cell_scale", "TrainedCells", "train_cells", "load_cells", "save_cells"]


def cell_name(variant: str, site: str) -> str:
    """The cell's key, ``<variant>/<site>``."""
    return f"{variant}/{site}"


def split_shards(reader: ActivationReader, eval_shards: int) -> tuple[list[int], list[int]]:
    """(training shards, held-out shards): the last ``eval_shards`` shards are held out."""
    if len(reader) <= eval_shards:
        raise ActivationError(f"{reader.folder} has {len(reader)} shard(s); random_vs_trained holds out {eval_shards} "
                              "and needs at least one more: lower lm.extraction.shard_tokens or "
                              "random_vs_trained.evaluate.eval_shards, or extract more sentences")
    return list(range(len(reader) - eval_shards)), list(range(len(reader) - eval_shards, len(reader)))


def cell_scale(sample: torch.Tensor) -> float:
    """The scalar s with E‖s x‖² = d over ``sample`` (N, d) (Gao et al.'s normalisation)."""
    mean_square = float(sample.double().pow(2).sum(dim=1).mean())
    if mean_square == 0:
        raise ActivationError("the activations are all zero: nothing to reconstruct")
    return (sample.shape[1] / mean_square) ** 0.5


@dataclasses.dataclass
class TrainedCells:
    """Trained SAEs of every cell (in ``cells`` order), their activation scales (n,) and training losses
    (n_logs, n) at ``history_steps``."""

    cells: tuple[str, ...]
    saes: CellSAEs
    scales: torch.Tensor
    history_steps: torch.Tensor
    history_loss: torch.Tensor
    metadata: dict[str, str]


def _batches(reader: ActivationReader, shards: list[int], batch_size: int, seed: int, scale: float,
             device: torch.device) -> Iterator[torch.Tensor]:
    for batch in reader.iter_batches(batch_size, make_generator(seed), shards):
        yield (batch * scale).to(device)


def train_cells(folders: Sequence[Path], cells: Sequence[str], config: RVTTrainConfig, eval_shards: int,
                device: str = "cpu") -> TrainedCells:
    """Train a TopK SAE on each site folder of ``folders`` (one per cell, named by ``cells``)."""
    torch_device = resolve_device(device)
    readers = [ActivationReader(folder) for folder in folders]
    dims = {reader.d for reader in readers}
    if len(dims) != 1:
        raise ActivationError(f"the cells have different widths {sorted(dims)}: train them as separate experiments")
    dim = dims.pop()
    n_latents = config.expansion * dim
    options = ArchitectureOptions(b_dec_init=config.b_dec_init, init_samples=config.init_samples)
    stacks, scales, streams = [], [], []
    for reader in readers:
        train_shards, _ = split_shards(reader, eval_shards)
        sample = reader.sample(config.init_samples, make_generator(derived_seed(config.data_seed, "init")),
                               train_shards)
        scale = cell_scale(sample)
        stacks.append(TOPK.init_stack(dim, n_latents, (float(config.k),), config.seed, options, sample * scale))
        scales.append(scale)
        streams.append(_batches(reader, train_shards, config.batch_size, config.data_seed, scale, torch_device))
    stacked = {name: torch.cat([stack.tensors()[name] for stack in stacks]).to(torch_device).contiguous()
               for name in ("w_enc", "b_enc", "w_dec", "b_dec", "target_variance")}
    saes = CellSAEs(config.k, **stacked)
    for tensor in saes.params():
        tensor.requires_grad_(True)
    grads = {name: torch.zeros_like(getattr(saes, name)) for name in ("w_enc", "b_enc", "w_dec", "b_dec")}
    for name, tensor in grads.items():
        getattr(saes, name).grad = tensor
    fused = torch_device.type in ("cpu", "cuda")
    optimiser = torch.optim.Adam(saes.params(), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps,
                                 fused=fused)
    log.info("%d cells, d=%d, J=%d, k=%d: %d steps of %d tokens on %s", len(cells), dim, n_latents, config.k,
             config.steps, config.batch_size, torch_device)
    steps_logged, losses = [], []
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        report = step % config.log_every == 0 or step == config.steps
        row = []
        for cell, stream in enumerate(streams):
            loss = topk_gradients(next(stream), saes, cell, grads, report)
            row.append(loss)
        with torch.no_grad():
            project_out_radial_(grads["w_dec"], saes.w_dec)
            optimiser.step()
            renormalise_rows_(saes.w_dec)
        if report:
            steps_logged.append(step)
            losses.append(row)
            log.info("step %d/%d: mean normalised MSE %.4f (%.1f s)", step, config.steps, sum(row) / len(row),
                     time.perf_counter() - start)
    for tensor in saes.params():
        tensor.requires_grad_(False)
        tensor.grad = None
    final = CellSAEs(config.k, *(t.detach().cpu().contiguous() for t in saes.params()),
                     saes.target_variance.detach().cpu())
    metadata = {"cells": json.dumps(list(cells)), "train_config": json.dumps(dataclasses.asdict(config)),
                "steps": str(config.steps),
                "activations": json.dumps({cell: {key: reader.manifest[key] for key in
                                                  ("model", "variant", "site", "d", "token_count", "weights_sha256",
                                                   "corpus_sha256")} for cell, reader in zip(cells, readers)})}
    return TrainedCells(tuple(cells), final, torch.tensor(scales, dtype=torch.float64),
                        torch.tensor(steps_logged, dtype=torch.long), torch.tensor(losses, dtype=torch.float64),
                        metadata)


def save_cells(trained: TrainedCells, path: Path) -> None:
    """Write the trained cells to one safetensors file (metadata: cells, k, config)."""
    tensors = {**trained.saes.tensors(), "scales": trained.scales, "history_steps": trained.history_steps,
               "history_loss": trained.history_loss}
    atomic_save_safetensors(tensors, path, {**trained.metadata, "k": str(trained.saes.k)})


def load_cells(path: Path) -> TrainedCells:
    """Read a file written by :func:`save_cells`."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    saes = CellSAEs(int(metadata["k"]), tensors["w_enc"], tensors["b_enc"], tensors["w_dec"], tensors["b_dec"],
                    tensors["target_variance"])
    extra = {key: value for key, value in metadata.items() if key != "k"}
    return TrainedCells(tuple(json.loads(metadata["cells"])), saes, tensors["scales"], tensors["history_steps"],
                        tensors["history_loss"], extra)


def train_and_save(activations: Path, variants: Sequence[str], sites: Sequence[str], config: RVTTrainConfig,
                   eval_shards: int, device: str, output: Path) -> TrainedCells:
    """Train every (variant, site) cell from ``activations/<variant>/<site>`` and save to ``output``."""
    cells = [cell_name(v, s) for v in variants for s in sites]
    trained = train_cells([activations / cell for cell in cells], cells, config, eval_shards, device)
    save_cells(trained, output)
    return trained
