"""Training stage of experiment `lm_sae`: the sparsity × dictionary-size grid on cached activations."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch

from superposition.lm.activations import ActivationError, ActivationReader
from superposition.lm_sae.config import LMSAEConfig
from superposition.runtime import derived_seed, make_generator, resolve_device
from superposition.sae import get_architecture
from superposition.sweep import TrainedSweep, save_sweep, train_sweep

log = logging.getLogger(__name__)

SCALE_SAMPLE = 8192  # tokens used to estimate the activation scale


def split_shards(reader: ActivationReader, eval_shards: int) -> tuple[list[int], list[int]]:
    """(training shards, held-out shards): the last ``eval_shards`` shards are held out."""
    if len(reader) <= eval_shards:
        raise ActivationError(f"{reader.folder} has {len(reader)} shard(s); lm_sae holds out {eval_shards} for "
                              "evaluation and needs at least one more: lower lm.extraction.shard_tokens or "
                              "lm_sae.evaluate.eval_shards, or extract more sentences")
    return list(range(len(reader) - eval_shards)), list(range(len(reader) - eval_shards, len(reader)))


def activation_scale(reader: ActivationReader, shards: list[int], target_norm: float, seed: int) -> float:
    """The scalar that makes the mean L2 norm of the (training) activations equal ``target_norm``."""
    sample = reader.sample(SCALE_SAMPLE, make_generator(seed), shards)
    return float(target_norm / sample.norm(dim=1).mean())


def scaled_batches(reader: ActivationReader, shards: list[int], batch_size: int, scale: float, seed: int,
                   device: torch.device) -> Iterator[torch.Tensor]:
    """Endless shuffled (batch, d) batches of scaled activations on ``device``."""
    for batch in reader.iter_batches(batch_size, make_generator(seed), shards):
        yield (batch * scale).to(device)


def train_lm_sweep(activations: Path, config: LMSAEConfig, device: str, output: Path,
                   progress: bool = True) -> TrainedSweep:
    """Train the configured grid on the cached activations at ``activations`` (a site folder); save it."""
    reader = ActivationReader(activations)
    train_shards, _ = split_shards(reader, config.evaluate.eval_shards)
    train = config.train
    scale = activation_scale(reader, train_shards, config.target_norm, train.data_seed)
    grids = train.grids_for(reader.d)
    init = None
    if any(get_architecture(grid.architecture).needs_data for grid in grids):
        seed = derived_seed(train.data_seed, "initialisation")
        init = reader.sample(train.options.init_samples, make_generator(seed), train_shards) * scale
    torch_device = resolve_device(device)
    tokens = sum(reader.manifest["shards"][i]["tokens"] for i in train_shards)
    log.info("%s: %d training tokens (d=%d), scale %.4g; %d %s SAEs (%d latents) for %d steps (%.1f epochs) on %s",
             activations, tokens, reader.d, scale, grids[0].n_models, train.architecture, grids[0].total_latents(),
             train.steps, train.steps * train.batch_size / tokens, torch_device)
    trained = train_sweep(scaled_batches(reader, train_shards, train.batch_size, scale, train.data_seed, torch_device),
                          reader.d, grids, train.steps, train.seed, torch_device, train.log_every, progress,
                          init_data=init)
    trained.metadata.update(train_config=json.dumps(dataclasses.asdict(train)), scale=repr(scale),
                            target_norm=repr(config.target_norm),
                            activations=json.dumps({k: reader.manifest[k] for k in
                                                    ("model", "variant", "site", "d", "token_count",
                                                     "weights_sha256", "corpus_sha256")}))
    save_sweep(trained, output)
    return trained
