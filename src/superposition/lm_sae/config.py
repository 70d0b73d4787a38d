"""Configuration of experiment `lm_sae`: the sparsity × dictionary-size sweep on language-model activations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from superposition.config import ConfigError, param
from superposition.lm.architecture import check_site, local_architecture, site_width
from superposition.lm.config import Variant
from superposition.sweep_config import SweepTrainConfig, check_sweep, check_window


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
    target_norm: float = param("activations are multiplied by one scalar so that their mean L2 norm is this (the "
                               "report does not say how it scaled them)", exclusive_minimum=0)
    train: SweepTrainConfig = param("sweep grid and training")
    evaluate: LMSAEEvaluateConfig = param("metrics")

    def __post_init__(self) -> None:
        check_window("lm_sae.evaluate.dead_window", self.evaluate.dead_window, "lm_sae.train.steps",
                     self.train.steps)
        check_sweep("lm_sae.train", self.train, None, "")

    def cross_check(self, root: Any) -> None:
        """The model must be one of ``root.lm.models``; where its config is on this machine, the site must exist
        and every dictionary ratio must give a whole number of latents."""
        if self.model not in root.lm.models:
            raise ConfigError(f"config key 'lm_sae.model': unknown model {self.model!r}; lm.models defines "
                              f"{sorted(root.lm.models)}")
        summary = local_architecture(root.lm.models[self.model])
        check_site("lm_sae.site", self.model, self.site, summary)
        if summary is not None:
            check_sweep("lm_sae.train", self.train, site_width(self.site, summary),
                        f"the width of {self.model}'s {self.site}")
