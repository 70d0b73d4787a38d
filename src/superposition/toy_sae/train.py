"""Training stage of experiment `toy_sae`: the whole grid on a stream of toy batches."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch

from superposition.runtime import make_generator, resolve_device
from superposition.sweep import SweepGrid, TrainedSweep, save_sweep, sizes_from_ratios, train_sweep
from superposition.toy_data import ToyDataGenerator
from superposition.sweep_config import SweepTrainConfig
from superposition.toy_sae.ground_truth import load_ground_truth

__all__ = ["dict_sizes", "toy_batches", "train_toy_sweep"]

log = logging.getLogger(__name__)


def dict_sizes(n_features: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Dictionary sizes J = ratio × G; each must be a whole number."""
    return sizes_from_ratios(n_features, ratios)


def toy_batches(
    generator: ToyDataGenerator, batch_size: int, seed: int, device: torch.device
) -> Iterator[torch.Tensor]:
    """An endless stream of (batch_size, h) toy batches, generated on ``device`` from ``seed``."""
    on_device = generator.to(device)
    rng = make_generator(seed, device)
    while True:
        yield on_device.sample(batch_size, rng)


def train_toy_sweep(
    ground_truth: Path, config: SweepTrainConfig, device: str, output: Path, progress: bool = True
) -> TrainedSweep:
    """Train the configured grid on streamed toy data and save it to ``output``."""
    generator = load_ground_truth(ground_truth)
    torch_device = resolve_device(device)
    grid = SweepGrid(config.l1_coefficients, dict_sizes(generator.n_features, config.dict_ratios))
    log.info("training %d SAEs (%d latents in all) for %d steps on %s", grid.n_models, grid.total_latents(),
             config.steps, torch_device)
    trained = train_sweep(toy_batches(generator, config.batch_size, config.data_seed, torch_device),
                          generator.dim, grid, config.steps, config.lr, config.seed, torch_device,
                          config.log_every, progress)
    trained.metadata["train_config"] = json.dumps(dataclasses.asdict(config))
    save_sweep(trained, output)
    return trained
