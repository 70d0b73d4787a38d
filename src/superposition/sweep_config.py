"""Configuration of a batched SAE sweep's training: one definition for every experiment that trains a grid."""

from __future__ import annotations

from dataclasses import dataclass

from superposition.config import param


@dataclass(frozen=True)
class SweepTrainConfig:
    """The sweep grid and its optimisation (Sharkey, Braun & Millidge, "Sparse autoencoder architecture and
    training"): every L1 coefficient with every dictionary size, trained together on one stream of batches."""

    l1_coefficients: tuple[float, ...] = param("α values of the grid", exclusive_minimum=0, min_items=1,
                                               unique_items=True)
    dict_ratios: tuple[float, ...] = param("dictionary sizes J as multiples of the unit (G features on toy data, "
                                           "the activation width d on a language model)", exclusive_minimum=0,
                                           min_items=1, unique_items=True)
    batch_size: int = param("samples per Adam step (report: 256)", minimum=1)
    steps: int = param("Adam steps per SAE", minimum=1)
    lr: float = param("Adam learning rate (report: 1e-3)", exclusive_minimum=0)
    seed: int = param("seed of the SAE initialisations (each model derives its own from it)", minimum=0)
    data_seed: int = param("seed of the stream of training batches", minimum=0)
    log_every: int = param("record training losses every this many steps", minimum=1)
