"""Configuration of a batched SAE sweep's training: one definition for every experiment that trains a grid."""

from __future__ import annotations

from dataclasses import dataclass

from superposition.config import ConfigError, param


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


def check_whole_sizes(key: str, ratios: tuple[float, ...], unit: int, unit_key: str) -> None:
    """ConfigError naming both keys unless every ratio × unit is a whole number of latents (≥ 1)."""
    for ratio in ratios:
        size = ratio * unit
        if abs(size - round(size)) > 1e-9 or round(size) < 1:
            raise ConfigError(f"config keys '{key}' and '{unit_key}': ratio {ratio} × {unit} = {size:g} is not a "
                              "whole number of latents")


def check_window(key: str, window: int, steps_key: str, steps: int) -> None:
    """ConfigError naming both keys if a window of training batches is longer than the training."""
    if window > steps:
        raise ConfigError(f"config keys '{key}' ({window}) and '{steps_key}' ({steps}): the window of training "
                          "batches is longer than the training, so no latent could ever count as dead")
