"""Configuration of experiment `tms` (Elhage et al. 2022, Toy Models of Superposition)."""

from __future__ import annotations

from dataclasses import dataclass

from superposition.config import ConfigError, param


@dataclass(frozen=True)
class TMSTrainConfig:
    """Optimisation shared by the four toy-model experiments (paper: AdamW lr 1e-3, batch 1024; steps per part)."""

    batch_size: int = param("samples per step", minimum=1)
    lr: float = param("AdamW learning rate", exclusive_minimum=0)
    weight_decay: float = param("AdamW weight decay (PyTorch's default is 0.01)", minimum=0)
    seed: int = param("seed of the initialisations (each instance derives its own)", minimum=0)
    data_seed: int = param("seed of the training batches", minimum=0)
    log_every: int = param("record training losses every this many steps", minimum=1)


@dataclass(frozen=True)
class TMSIntroConfig:
    """Experiment 1: five features of importance 0.9^i in two dimensions, ReLU and linear models."""

    steps: int = param("AdamW steps (paper: 10,000)", minimum=1)
    n_features: int = param("n (paper: 5)", minimum=2)
    n_hidden: int = param("m (paper: 2; the plots need 2)", minimum=1)
    importance_decay: float = param("I_i = decay^i (paper: 0.9)", exclusive_minimum=0)
    sparsities: tuple[float, ...] = param("sparsity levels S", minimum=0, exclusive_maximum=1, min_items=1,
                                          unique_items=True)


@dataclass(frozen=True)
class TMSSparsityConfig:
    """Experiment 2: superposition as sparsity grows (n = 20, m = 5, I_i = 0.7^i)."""

    steps: int = param("AdamW steps (paper: 10,000)", minimum=1)
    n_features: int = param("n (paper: 20)", minimum=2)
    n_hidden: int = param("m (paper: 5)", minimum=1)
    importance_decay: float = param("I_i = decay^i (paper: 0.7)", exclusive_minimum=0)
    sparsities: tuple[float, ...] = param("sparsity levels S, increasing", minimum=0, exclusive_maximum=1,
                                          min_items=1, unique_items=True)


@dataclass(frozen=True)
class TMSPhaseConfig:
    """Experiment 3: the phase diagram of n = 2 features in m = 1 dimension."""

    steps: int = param("AdamW steps (paper: 10,000)", minimum=1)
    importance_min: float = param("smallest relative importance of the extra feature", exclusive_minimum=0)
    importance_max: float = param("largest relative importance of the extra feature", exclusive_minimum=0)
    importance_points: int = param("log-spaced importance values", minimum=2)
    density_min: float = param("smallest feature density 1 − S", exclusive_minimum=0, maximum=1)
    density_max: float = param("largest feature density 1 − S", exclusive_minimum=0, maximum=1)
    density_points: int = param("log-spaced density values", minimum=2)
    replicates: int = param("models per cell; the one with the least held-out loss is classified", minimum=1)
    eval_samples: int = param("held-out samples that pick the best replicate", minimum=1)
    eval_seed: int = param("seed of the held-out samples", minimum=0)


@dataclass(frozen=True)
class TMSDimensionalityConfig:
    """Experiment 4: feature dimensionality (n = 200, m = 20, uniform importance)."""

    steps: int = param("AdamW steps (paper: 10,000)", minimum=1)
    n_features: int = param("n (paper tier: 200)", minimum=2)
    n_hidden: int = param("m (paper tier: 20)", minimum=1)
    levels: int = param("sparsity levels: 1 − S = base^(−k/(levels − 1)), k = 0 … levels − 1", minimum=2)
    density_base: float = param("base of the density schedule (issue: 20)", exclusive_minimum=1)


@dataclass(frozen=True)
class TMSConfig:
    """Experiment `tms`: the four core experiments of Toy Models of Superposition."""

    train: TMSTrainConfig = param("optimisation")
    intro: TMSIntroConfig = param("experiment 1")
    sparsity_sweep: TMSSparsityConfig = param("experiment 2")
    phase: TMSPhaseConfig = param("experiment 3")
    dimensionality: TMSDimensionalityConfig = param("experiment 4")

    def __post_init__(self) -> None:
        if self.intro.n_hidden != 2:
            raise ConfigError(f"config key 'tms.intro.n_hidden': {self.intro.n_hidden}, but experiment 1 draws the "
                              "columns of W in the plane (and tests the pentagon): it must be 2")
        for low, high in (("importance_min", "importance_max"), ("density_min", "density_max")):
            if getattr(self.phase, low) >= getattr(self.phase, high):
                raise ConfigError(f"config keys 'tms.phase.{low}' and 'tms.phase.{high}': the range "
                                  f"[{getattr(self.phase, low)}, {getattr(self.phase, high)}] is empty or reversed")
        levels = list(self.sparsity_sweep.sparsities)
        if levels != sorted(set(levels)):
            raise ConfigError(f"config key 'tms.sparsity_sweep.sparsities': {levels} must increase strictly (the "
                              "claim compares consecutive levels)")
