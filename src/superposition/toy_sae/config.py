"""Configuration of the toy-data SAE sweeps (Sharkey, Braun & Millidge 2022, Methods and Figures 1–10)."""

from __future__ import annotations

from dataclasses import dataclass

from superposition.config import ConfigError, param
from superposition.sweep_config import MultiSweepTrainConfig, SweepTrainConfig, check_sweep, check_window


@dataclass(frozen=True)
class ToyDataConfig:
    """Ground truth and statistics of the toy data (report, "Toy dataset generation")."""

    n_features: int = param("G: number of ground-truth features (report: 512)", minimum=1)
    dim: int = param("h: dimension of the data (report: 256)", minimum=1)
    mean_active: float = param("expected number of active features per sample (report: 5)", exclusive_minimum=0)
    decay: float = param("λ: activation probability is multiplied by λ^g for feature g (report: 0.99)",
                         exclusive_minimum=0, maximum=1)
    seed: int = param("seed of the ground truth: features and covariance matrix", minimum=0)


@dataclass(frozen=True)
class ToyEvaluateConfig:
    """How the trained grid is measured."""

    dead_window: int = param("T: a latent is dead if it did not fire in the last T training batches "
                             "(report: 500)", minimum=1)
    eval_samples: int = param("held-out samples for the final reconstruction and L1 losses", minimum=1)
    eval_seed: int = param("seed of the held-out samples (distinct from the training stream)", minimum=0)


@dataclass(frozen=True)
class ToyArchitecturesConfig:
    """Secondary (not in the report): the SAE architectures of Gao et al., Bussmann et al. and Rajamanoharan et
    al. beside Sharkey et al.'s, each over a grid of its sparsity values, on the same toy data and ground truth."""

    train: MultiSweepTrainConfig = param("the architectures' grids, trained as one computation")
    evaluate: ToyEvaluateConfig = param("metrics")


@dataclass(frozen=True)
class ToyDeadLatentsConfig:
    """Evidence for the Figure 4 claim (issue 16): the report's dead-free cells retrained at another learning rate
    with every other setting of ``train`` (the same initialisations and the same batches), and dead latents counted
    over several windows T in both runs."""

    lr: float = param("the learning rate of the retraining (report and authors' code: 1e-3)", exclusive_minimum=0)
    dict_ratios: tuple[float, ...] = param("the cells' dictionary ratios J/G, a subset of train.dict_ratios",
                                           exclusive_minimum=0, min_items=1, unique_items=True)
    sparsities: tuple[float, ...] = param("the cells' L1 coefficients, a subset of train.sparsities",
                                          exclusive_minimum=0, min_items=1, unique_items=True)
    windows: tuple[int, ...] = param("windows T (training batches) over which dead latents are counted",
                                     minimum=1, min_items=1, unique_items=True)
    steps: int = param("Adam steps of the retraining (default tier: the sweep's; the report's 20,000 at lr 1e-3 "
                       "decide the claim)", minimum=1)


@dataclass(frozen=True)
class ToySAEConfig:
    """Experiment `toy_sae`: toy-data SAE sweeps of Sharkey, Braun & Millidge (2022)."""

    data: ToyDataConfig = param("toy data generator")
    train: SweepTrainConfig = param("sweep grid and training")
    evaluate: ToyEvaluateConfig = param("metrics")
    architectures: ToyArchitecturesConfig = param("secondary comparison of SAE architectures on the ground truth")
    dead_latents: ToyDeadLatentsConfig = param("appendix to Figure 4: dead latents against training recipe and window")

    def __post_init__(self) -> None:
        if self.data.mean_active > self.data.n_features:
            raise ConfigError(f"config keys 'toy_sae.data.mean_active' ({self.data.mean_active}) and "
                              f"'toy_sae.data.n_features' ({self.data.n_features}): a sample cannot have more active "
                              "features than there are")
        check_sweep("toy_sae.train", self.train, self.data.n_features, "toy_sae.data.n_features")
        check_window("toy_sae.evaluate.dead_window", self.evaluate.dead_window, "toy_sae.train.steps",
                     self.train.steps)
        check_sweep("toy_sae.architectures.train", self.architectures.train, self.data.n_features,
                    "toy_sae.data.n_features")
        self._check_dead_latents()
        check_window("toy_sae.architectures.evaluate.dead_window", self.architectures.evaluate.dead_window,
                     "toy_sae.architectures.train.steps", self.architectures.train.steps)

    def _check_dead_latents(self) -> None:
        appendix, train = self.dead_latents, self.train
        for name in ("dict_ratios", "sparsities"):
            extra = sorted(set(getattr(appendix, name)) - set(getattr(train, name)))
            if extra:
                raise ConfigError(f"config keys 'toy_sae.dead_latents.{name}' and 'toy_sae.train.{name}': the "
                                  f"appendix retrains cells of the sweep, but {extra} is not in the sweep")
        if train.architecture != "relu_l1":
            raise ConfigError("config keys 'toy_sae.dead_latents' and 'toy_sae.train.architecture': the appendix "
                              f"retrains the report's SAE (relu_l1), but the sweep trains {train.architecture}")
        for window in appendix.windows:  # counted in the sweep and in the retraining
            check_window("toy_sae.dead_latents.windows", window, "toy_sae.train.steps", train.steps)
            check_window("toy_sae.dead_latents.windows", window, "toy_sae.dead_latents.steps", appendix.steps)
