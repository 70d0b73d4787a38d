"""Training stage of experiment `stitching`: a family of BatchTopK SAEs of doubling width on one LM site.

The family is one batched grid (:mod:`superposition.sweep`): every width sees the same stream of batches from the
training shards of the shared activation cache; the last ``evaluate.eval_shards`` shards are held out for the
stitching analysis. The architecture is BatchTopK (Bussmann, Leask & Nanda 2024), the SAE of the paper's own
experiments and of its meta-SAEs, with one k for every width so that the family differs only in dictionary size
(interpretation: the paper's stitching figures compare SAEs of one family at fixed sparsity).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch

from superposition.lm.activations import ActivationError, ActivationReader
from superposition.runtime import derived_seed, make_generator, resolve_device
from superposition.sweep import TrainedSweep, save_sweep, train_sweep
from superposition.sweep_config import SweepTrainConfig

__all__ = ["split_shards", "activation_scale", "train_family"]

log = logging.getLogger(__name__)

SCALE_SAMPLE = 8192  # tokens used to estimate the activation scale


def split_shards(reader: ActivationReader, eval_shards: int) -> tuple[list[int], list[int]]:
    """(training shards, held-out shards): the last ``eval_shards`` shards are held out."""
    if len(reader) <= eval_shards:
        raise ActivationError(f"{reader.folder} has {len(reader)} shard(s); stitching holds out {eval_shards} and "
                              "needs at least one more: lower lm.extraction.shard_tokens or "
                              "stitching.evaluate.eval_shards, or extract more sentences")
    return list(range(len(reader) - eval_shards)), list(range(len(reader) - eval_shards, len(reader)))


def activation_scale(reader: ActivationReader, shards: list[int], target_norm: float, seed: int) -> float:
    """The scalar that makes the mean L2 norm of the training activations equal ``target_norm``."""
    sample = reader.sample(SCALE_SAMPLE, make_generator(seed), shards)
    return float(target_norm / sample.norm(dim=1).mean())


def _batches(reader: ActivationReader, shards: list[int], batch_size: int, scale: float, seed: int,
             device: torch.device) -> Iterator[torch.Tensor]:
    for batch in reader.iter_batches(batch_size, make_generator(seed), shards):
        yield (batch * scale).to(device)


def train_family(activations: Path, train: SweepTrainConfig, target_norm: float, eval_shards: int, device: str,
                 output: Path, progress: bool = True) -> TrainedSweep:
    """Train the family ``train`` on the cached site folder ``activations`` (its last ``eval_shards`` shards held
    out), activations scaled to mean norm ``target_norm``; save it to ``output``."""
    reader = ActivationReader(activations)
    train_shards, _ = split_shards(reader, eval_shards)
    scale = activation_scale(reader, train_shards, target_norm, train.data_seed)
    grids = train.grids_for(reader.d)
    init = reader.sample(train.options.init_samples, make_generator(derived_seed(train.data_seed, "initialisation")),
                         train_shards) * scale
    torch_device = resolve_device(device)
    log.info("%s: d=%d, scale %.4g; BatchTopK k=%g, sizes %s, %d steps of %d on %s", activations, reader.d, scale,
             train.sparsities[0], grids[0].dict_sizes, train.steps, train.batch_size, torch_device)
    trained = train_sweep(_batches(reader, train_shards, train.batch_size, scale, train.data_seed, torch_device),
                          reader.d, grids, train.steps, train.seed, torch_device, train.log_every, progress,
                          init_data=init)
    trained.metadata.update(train_config=json.dumps(dataclasses.asdict(train)), scale=repr(scale),
                            activations=json.dumps({k: reader.manifest[k] for k in
                                                    ("model", "variant", "site", "d", "token_count",
                                                     "weights_sha256", "corpus_sha256")}))
    save_sweep(trained, output)
    return trained
