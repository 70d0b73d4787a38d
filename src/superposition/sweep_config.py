"""Configuration of batched SAE sweeps: one definition for every experiment that trains a grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from superposition.config import ConfigError, param
from superposition.sae.options import AdamSettings, ArchitectureOptions

if TYPE_CHECKING:  # the sweep imports torch; config parsing (the Snakefile) must not
    from superposition.sweep import SweepGrid

__all__ = ["SweepTrainConfig", "ArchitectureGridConfig", "MultiSweepTrainConfig", "check_whole_sizes",
           "check_window", "check_sweep", "ArchitectureName"]

ArchitectureName = Literal["relu_l1", "topk", "batchtopk", "jumprelu"]  # superposition.sae.ARCHITECTURE_NAMES
_SPARSITIES_DOC = ("the sparsity values of the grid: the L1 coefficient α (relu_l1), k (topk, batchtopk: active "
                   "latents per sample, a whole number) or the L0 coefficient λ (jumprelu)")


@dataclass(frozen=True)
class SweepTrainConfig:
    """The sweep grid of one architecture and its optimisation: every sparsity value with every dictionary size,
    trained together on one stream of batches (Sharkey, Braun & Millidge, "Sparse autoencoder architecture and
    training", for relu_l1)."""

    architecture: ArchitectureName = param("the SAE: relu_l1 (Sharkey et al.), topk (Gao et al.), batchtopk (Bussmann "
                                           "et al.) or jumprelu (Rajamanoharan et al.)")
    sparsities: tuple[float, ...] = param(_SPARSITIES_DOC, exclusive_minimum=0, min_items=1, unique_items=True)
    dict_ratios: tuple[float, ...] = param("dictionary sizes J as multiples of the unit (G features on toy data, "
                                           "the activation width d on a language model)", exclusive_minimum=0,
                                           min_items=1, unique_items=True)
    batch_size: int = param("samples per Adam step (report: 256)", minimum=1)
    steps: int = param("Adam steps per SAE", minimum=1)
    lr: float = param("Adam learning rate (report: 1e-3)", exclusive_minimum=0)
    adam: AdamSettings = param("Adam's other settings and the learning-rate warm-up")
    seed: int = param("seed of the SAE initialisations (each model derives its own from it)", minimum=0)
    data_seed: int = param("seed of the stream of training batches (and of the initialisation sample)", minimum=0)
    log_every: int = param("record training losses every this many steps", minimum=1)
    options: ArchitectureOptions = param("settings of the topk, batchtopk and jumprelu architectures")

    def grids_for(self, unit: int) -> tuple["SweepGrid", ...]:
        """The sweep's grid, with dictionary sizes J = ratio × ``unit``."""
        from superposition.sweep import SweepGrid, sizes_from_ratios

        return (SweepGrid(self.architecture, self.sparsities, sizes_from_ratios(unit, self.dict_ratios), self.lr,
                          self.adam, self.options),)


@dataclass(frozen=True)
class ArchitectureGridConfig:
    """One architecture's part of a multi-architecture sweep: its sparsity values and its optimiser."""

    architecture: ArchitectureName = param("the SAE (see SweepTrainConfig.architecture)")
    sparsities: tuple[float, ...] = param(_SPARSITIES_DOC, exclusive_minimum=0, min_items=1, unique_items=True)
    lr: float = param("Adam learning rate", exclusive_minimum=0)
    adam: AdamSettings = param("Adam's other settings and the learning-rate warm-up")


@dataclass(frozen=True)
class MultiSweepTrainConfig:
    """Several architectures' grids trained as one computation on one stream of batches (every sparsity value of
    every architecture with every dictionary size)."""

    grids: tuple[ArchitectureGridConfig, ...] = param("one entry per architecture", min_items=1)
    dict_ratios: tuple[float, ...] = param("dictionary sizes J as multiples of the unit", exclusive_minimum=0,
                                           min_items=1, unique_items=True)
    batch_size: int = param("samples per Adam step", minimum=1)
    steps: int = param("Adam steps per SAE", minimum=1)
    seed: int = param("seed of the SAE initialisations (each model derives its own from it)", minimum=0)
    data_seed: int = param("seed of the stream of training batches (and of the initialisation sample)", minimum=0)
    log_every: int = param("record training losses every this many steps", minimum=1)
    options: ArchitectureOptions = param("settings of the topk, batchtopk and jumprelu architectures")

    def grids_for(self, unit: int) -> tuple["SweepGrid", ...]:
        """Every architecture's grid, with dictionary sizes J = ratio × ``unit``."""
        from superposition.sweep import SweepGrid, sizes_from_ratios

        sizes = sizes_from_ratios(unit, self.dict_ratios)
        return tuple(SweepGrid(g.architecture, g.sparsities, sizes, g.lr, g.adam, self.options) for g in self.grids)


def check_sweep(key: str, config: SweepTrainConfig | MultiSweepTrainConfig, unit: int | None, unit_key: str) -> None:
    """ConfigError naming the keys under ``key`` (e.g. ``toy_sae.train``) for what the schema cannot check: whole
    dictionary sizes, k a whole number no larger than the smallest dictionary, an architecture at most once, and
    an AuxK window that fits in the training. ``unit`` None: the sizes are not known here (no model config)."""
    entries = config.grids if isinstance(config, MultiSweepTrainConfig) else (config,)
    names = [entry.architecture for entry in entries]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key '{key}.grids': each architecture may appear once, got {names}")
    if unit is not None:
        check_whole_sizes(f"{key}.dict_ratios", config.dict_ratios, unit, unit_key)
    smallest = None if unit is None else min(round(ratio * unit) for ratio in config.dict_ratios)
    tokens = config.steps * config.batch_size
    for index, entry in enumerate(entries):
        where = f"{key}.sparsities" if entry is config else f"{key}.grids.{index}.sparsities"
        if entry.architecture not in ("topk", "batchtopk"):
            continue
        if any(value != int(value) for value in entry.sparsities):
            raise ConfigError(f"config key '{where}': {entry.architecture}'s sparsity values are k, whole numbers; "
                              f"got {list(entry.sparsities)}")
        if smallest is not None and max(entry.sparsities) > smallest:
            raise ConfigError(f"config keys '{where}' and '{key}.dict_ratios': k = {max(entry.sparsities):g} exceeds "
                              f"the smallest dictionary ({smallest} latents)")
        if config.options.dead_tokens > tokens:
            raise ConfigError(f"config keys '{key}.options.dead_tokens' ({config.options.dead_tokens}) and "
                              f"'{key}.steps' × '{key}.batch_size' ({tokens} tokens): AuxK's dead window is longer "
                              "than the training, so no latent could ever count as dead")


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
