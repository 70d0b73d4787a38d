"""Configuration of experiment `random_vs_trained` (Heap, Lawson, Farnik & Aitchison, arXiv 2501.17727).

Interpretations of the paper that the keys encode (the docs page lists them all):

- One TopK SAE per (variant, site) cell, all cells trained in one job on one schedule (:mod:`.train`); AuxK is
  left out (the paper's text does not name it; dead latents are reported as measured).
- Activations of every cell are scaled by one scalar so that E‖x‖² = d (Gao et al.'s normalisation), so that the
  variants' very different activation scales share one learning rate; every metric is scale-free.
- The interpretability score is the offline token-profile proxy of :mod:`superposition.interpretability`, on
  held-out sentences (a sentence is a window), with the paper's sampling protocol scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from superposition.config import ConfigError, param
from superposition.interpretability import InterpretabilityConfig
from superposition.lm.architecture import check_site, local_architecture
from superposition.lm.config import Variant

__all__ = ["RVTTrainConfig", "RVTEvaluateConfig", "ToyConfig", "RandomVsTrainedConfig", "PAPER_VARIANTS"]

# The paper's five variants (Sec. 3); random_embedding_table is this project's weaker null model.
PAPER_VARIANTS = ("trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control")


@dataclass(frozen=True)
class RVTTrainConfig:
    """TopK SAEs, one per (variant, site), trained together."""

    expansion: int = param("latents per activation dimension, J = expansion × d (paper: 64)", minimum=1)
    k: int = param("active latents per token (paper: 32)", minimum=1)
    batch_size: int = param("tokens per Adam step, per SAE", minimum=1)
    steps: int = param("Adam steps per SAE", minimum=1)
    lr: float = param("Adam learning rate", exclusive_minimum=0)
    beta1: float = param("Adam β1", minimum=0, exclusive_maximum=1)
    beta2: float = param("Adam β2", minimum=0, exclusive_maximum=1)
    eps: float = param("Adam ε (Gao et al.: 6.25e-10)", exclusive_minimum=0)
    b_dec_init: Literal["geometric_median", "mean"] = param("initial decoder bias (Gao et al.: geometric median)")
    init_samples: int = param("tokens drawn for the data-dependent initialisation and the activation scale",
                              minimum=2)
    seed: int = param("seed of the SAE initialisations (each cell derives its own)", minimum=0)
    data_seed: int = param("seed of the stream of training batches", minimum=0)
    log_every: int = param("record the training loss every this many steps", minimum=1)


@dataclass(frozen=True)
class RVTEvaluateConfig:
    """Held-out reconstruction metrics."""

    eval_shards: int = param("the last this many shards of every cache are held out (metrics, interpretability, "
                             "entropy)", minimum=1)
    eval_tokens: int = param("held-out tokens for the reconstruction metrics (at most those shards hold)", minimum=1)
    eval_seed: int = param("seed of the choice of held-out tokens", minimum=0)
    top_latents: int = param("latents per variant and site shown in the top-context tables", minimum=0)


@dataclass(frozen=True)
class ToyConfig:
    """Section 4's toy models: TopK SAEs over a k sweep on (a) sparse superposed toy data and (b) dense Gaussian
    data, each as it is and after a fixed random MLP."""

    n_features: int = param("G: ground-truth features of the sparse data (Sharkey et al.'s generator)", minimum=1)
    dim: int = param("h: dimension of the data (and of the random MLP's input and output)", minimum=1)
    mean_active: float = param("features active per sample on average", exclusive_minimum=0)
    decay: float = param("per-index decay of the feature probabilities", exclusive_minimum=0, maximum=1)
    mlp_hidden_ratio: int = param("the random MLP's hidden width as a multiple of h (a transformer MLP: 4)",
                                  minimum=1)
    ks: tuple[int, ...] = param("TopK k values of the sweep (the Pareto curve's points)", minimum=1, min_items=1,
                                unique_items=True)
    expansion: int = param("latents per data dimension", minimum=1)
    batch_size: int = param("samples per Adam step", minimum=1)
    steps: int = param("Adam steps", minimum=1)
    lr: float = param("Adam learning rate", exclusive_minimum=0)
    eval_samples: int = param("held-out samples for explained variance and L0", minimum=1)
    seed: int = param("seed of the ground truth, the random MLP, the SAEs and the data streams", minimum=0)

    def __post_init__(self) -> None:
        if max(self.ks) > self.expansion * self.dim:
            raise ConfigError(f"config keys 'random_vs_trained.toy.ks' and 'random_vs_trained.toy.expansion': "
                              f"k = {max(self.ks)} exceeds the dictionary ({self.expansion * self.dim} latents)")
        if self.mean_active > self.n_features:
            raise ConfigError("config keys 'random_vs_trained.toy.mean_active' and 'random_vs_trained.toy.n_features':"
                              " more active features than features")


@dataclass(frozen=True)
class RandomVsTrainedConfig:
    """Experiment `random_vs_trained`: Heap et al., SAEs on trained vs randomised transformers."""

    model: str = param("the model (of lm.models)")
    variants: tuple[Variant, ...] = param("variants compared (paper: trained, rerandomised, "
                                          "rerandomised_no_embeddings, step0, control); the first must be trained",
                                          min_items=2, unique_items=True)
    sites: tuple[str, ...] = param("activation sites, in depth order (embeddings, resid.<layer>)", min_items=1,
                                   unique_items=True)
    train: RVTTrainConfig = param("SAE training")
    evaluate: RVTEvaluateConfig = param("held-out metrics")
    interpretability: InterpretabilityConfig = param("the offline interpretability proxy and the token entropy")
    toy: ToyConfig = param("Section 4's toy models")

    def __post_init__(self) -> None:
        if self.variants[0] != "trained":
            raise ConfigError(f"config key 'random_vs_trained.variants': the first variant must be 'trained' (the "
                              f"reference every claim compares with), got {self.variants[0]!r}")
        if any(site.startswith("mlp") for site in self.sites):
            raise ConfigError("config key 'random_vs_trained.sites': the paper trains on the residual stream; "
                              "use embeddings and resid.<layer>")

    def cross_check(self, root: Any) -> None:
        """The model must be one of ``root.lm.models``; where its config is on this machine, every site must exist
        and k must fit in the dictionary."""
        if self.model not in root.lm.models:
            raise ConfigError(f"config key 'random_vs_trained.model': unknown model {self.model!r}; lm.models "
                              f"defines {sorted(root.lm.models)}")
        summary = local_architecture(root.lm.models[self.model])
        for index, site in enumerate(self.sites):
            check_site(f"random_vs_trained.sites.{index}", self.model, site, summary)
        if summary is not None and self.train.k > self.train.expansion * summary.hidden:
            raise ConfigError(f"config keys 'random_vs_trained.train.k' and 'random_vs_trained.train.expansion': "
                              f"k = {self.train.k} exceeds the dictionary of {self.model}")
