"""Configuration of experiment `lm_sae`: the L1 × dictionary-size sweep on language-model activations."""

from __future__ import annotations

from dataclasses import dataclass

from superposition.config import param
from superposition.lm.config import Variant


@dataclass(frozen=True)
class LMSAETrainConfig:
    """The sweep grid and its optimisation (the foundation's batched trainer, as on toy data)."""

    l1_coefficients: tuple[float, ...] = param("α values of the grid", exclusive_minimum=0, min_items=1,
                                               unique_items=True)
    dict_ratios: tuple[float, ...] = param("dictionary sizes J as multiples of the activation width d",
                                           exclusive_minimum=0, min_items=1, unique_items=True)
    batch_size: int = param("activations per Adam step (report: 256)", minimum=1)
    steps: int = param("Adam steps per SAE", minimum=1)
    lr: float = param("Adam learning rate (report: 1e-3)", exclusive_minimum=0)
    target_norm: float = param("activations are multiplied by one scalar so that their mean L2 norm is this",
                               exclusive_minimum=0)
    seed: int = param("seed of the SAE initialisations", minimum=0)
    data_seed: int = param("seed of the shuffled stream of training activations", minimum=0)
    log_every: int = param("record training losses every this many steps", minimum=1)


@dataclass(frozen=True)
class LMSAEEvaluateConfig:
    """How the trained grid is measured."""

    dead_window: int = param("T: a latent is dead if it did not fire in the last T training batches (report, "
                             "language model: 3000)", minimum=1)
    eval_shards: int = param("the last this many shards of the cache are held out for evaluation", minimum=1)
    eval_tokens: int = param("held-out tokens for the final losses (at most those shards hold)", minimum=1)
    eval_seed: int = param("seed of the choice of held-out tokens", minimum=0)


@dataclass(frozen=True)
class LMSAEConfig:
    """Experiment `lm_sae`: Sharkey, Braun & Millidge (2022), the language-model section."""

    model: str = param("the model (of lm.models) whose activations are used")
    variant: Variant = param("its variant (see lm.activations)")
    site: str = param("the activation site (report: MLP hidden activations of layer index 1)")
    train: LMSAETrainConfig = param("sweep grid and training")
    evaluate: LMSAEEvaluateConfig = param("metrics")
