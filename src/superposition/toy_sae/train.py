"""Training stage of experiment `toy_sae`: a whole grid (one or several architectures) on a stream of toy batches."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch

from superposition.runtime import derived_seed, make_generator, resolve_device
from superposition.sae import get_architecture
from superposition.sweep import TrainedSweep, save_sweep, sizes_from_ratios, train_sweep
from superposition.sweep_config import MultiSweepTrainConfig, SweepTrainConfig
from superposition.toy_data import ToyDataGenerator
from superposition.toy_sae.ground_truth import load_ground_truth

__all__ = ["dict_sizes", "toy_batches", "initialisation_sample", "train_toy_sweep"]

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


def initialisation_sample(generator: ToyDataGenerator, samples: int, data_seed: int) -> torch.Tensor:
    """(samples, h) toy samples for data-dependent initialisation, from their own seed (the stream is untouched)."""
    return generator.sample(samples, make_generator(derived_seed(data_seed, "initialisation")))


def train_toy_sweep(
    ground_truth: Path, config: SweepTrainConfig | MultiSweepTrainConfig, device: str, output: Path,
    progress: bool = True,
) -> TrainedSweep:
    """Train the configured grid(s) on streamed toy data and save them to ``output``."""
    generator = load_ground_truth(ground_truth)
    torch_device = resolve_device(device)
    grids = config.grids_for(generator.n_features)
    needs_data = any(get_architecture(grid.architecture).needs_data for grid in grids)
    init = initialisation_sample(generator, config.options.init_samples, config.data_seed) if needs_data else None
    log.info("training %d SAEs (%s; %d latents in all) for %d steps on %s", sum(g.n_models for g in grids),
             ", ".join(g.architecture for g in grids), sum(g.total_latents() for g in grids), config.steps,
             torch_device)
    trained = train_sweep(toy_batches(generator, config.batch_size, config.data_seed, torch_device),
                          generator.dim, grids, config.steps, config.seed, torch_device, config.log_every, progress,
                          init_data=init)
    trained.metadata["train_config"] = json.dumps(dataclasses.asdict(config))
    save_sweep(trained, output)
    return trained
