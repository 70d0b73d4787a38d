"""Configuration of experiment `stitching`: SAE stitching and meta-SAEs (Leask, Bussmann et al. 2025).

Interpretations of the paper that a value here encodes are written beside the field; the docs page
(docs/experiments/stitching.md) lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from superposition.config import ConfigError, param
from superposition.lm.architecture import check_site, local_architecture, site_width
from superposition.lm.config import Variant
from superposition.sae.options import AdamSettings, ArchitectureOptions
from superposition.sweep_config import SweepTrainConfig, check_sweep


@dataclass(frozen=True)
class StitchEvaluateConfig:
    """Held-out data and the matching graph of the stitching analysis."""

    eval_shards: int = param("the last this many shards of the cache are held out (never trained on)", minimum=1)
    eval_tokens: int = param("held-out tokens on which every MSE is measured", minimum=1)
    eval_seed: int = param("seed of the choice of held-out tokens", minimum=0)
    similarity_threshold: float = param("θ: an edge joins a smaller-SAE and a larger-SAE latent whose decoder "
                                        "directions have cosine similarity above θ (paper: 0.7)",
                                        exclusive_minimum=0, exclusive_maximum=1)


@dataclass(frozen=True)
class MetaSAEConfig:
    """The meta-SAE: a BatchTopK SAE trained on the decoder directions of the family's largest SAE."""

    k: int = param("mean active meta-latents per decoder direction (paper: 4)", minimum=1)
    width_ratio: float = param("meta-latents per latent of the largest SAE (paper: 2304 / 49152 = 0.046875)",
                               exclusive_minimum=0, maximum=1)
    batch_size: int = param("decoder directions per Adam step (at most the number of latents)", minimum=1)
    steps: int = param("Adam steps", minimum=1)
    lr: float = param("Adam learning rate (authors' meta-SAE code: 1e-4 over 30,000 epochs)", exclusive_minimum=0)
    adam: AdamSettings = param("Adam's other settings")
    options: ArchitectureOptions = param("BatchTopK's AuxK and threshold settings")
    seed: int = param("seed of the meta-SAE's initialisation (the random baseline uses the same)", minimum=0)
    data_seed: int = param("seed of the batch order", minimum=0)
    random_seed: int = param("seed of the random unit vectors of the baseline", minimum=0)


@dataclass(frozen=True)
class ContextsConfig:
    """Top-activating WordNet contexts of the latents whose decompositions the report shows."""

    latents: int = param("latents of the largest SAE whose meta-SAE decomposition is shown", minimum=1)
    top_contexts: int = param("top-activating held-out contexts per latent", minimum=1)
    window: int = param("tokens of the sentence shown before the activating token", minimum=0)
    seed: int = param("seed of the choice of latents shown", minimum=0)


@dataclass(frozen=True)
class ToyConfig:
    """The colour × shape toy of the paper's Figure 2."""

    colours: int = param("colour values (paper: 3)", minimum=2)
    shapes: int = param("shape values (paper: 3)", minimum=2)
    dim: int = param("width of the toy activations (≥ 4: each attribute's values lie on a circle in its own plane)",
                     minimum=4)
    noise: float = param("standard deviation of isotropic Gaussian noise added to every sample", minimum=0)
    samples: int = param("training samples drawn per step", minimum=1)
    steps: int = param("Adam steps of the two toy SAEs", minimum=1)
    l1: tuple[float, ...] = param("L1 coefficients α of the relu_l1 toy SAEs, each with both sizes (the sparsity "
                                  "penalty of the paper's argument)", exclusive_minimum=0, min_items=1, unique_items=True)
    lr: float = param("Adam learning rate", exclusive_minimum=0)
    meta_k: int = param("mean active meta-latents of the toy meta-SAE (a composition has 2 parts)", minimum=1)
    meta_steps: int = param("Adam steps of the toy meta-SAE", minimum=1)
    seed: int = param("seed of the toy's directions, data and SAEs", minimum=0)


@dataclass(frozen=True)
class StitchingConfig:
    """Experiment `stitching`: Leask, Bussmann et al. (2025), SAE stitching and meta-SAEs."""

    model: str = param("the model (of lm.models) whose activations are used (paper: GPT-2 small)")
    variant: Variant = param("its variant (see lm.activations)")
    site: str = param("the activation site (paper: GPT-2 layer 8 residual stream, hook_resid_pre = resid.7)")
    target_norm: float = param("activations are multiplied by one scalar so that their mean L2 norm is this",
                               exclusive_minimum=0)
    train: SweepTrainConfig = param("the SAE family: one sparsity value k, dictionary sizes as multiples of d")
    evaluate: StitchEvaluateConfig = param("held-out data and the matching graph")
    meta: MetaSAEConfig = param("the meta-SAE and its random baseline")
    contexts: ContextsConfig = param("the decompositions shown with their contexts")
    toy: ToyConfig = param("the colour × shape toy (paper Figure 2)")

    def __post_init__(self) -> None:
        check_sweep("stitching.train", self.train, None, "")
        if self.train.architecture != "batchtopk":
            raise ConfigError("config key 'stitching.train.architecture': the paper's family and its stitched "
                              f"SAEs are BatchTopK here; got {self.train.architecture!r}")
        if len(self.train.sparsities) != 1:
            raise ConfigError("config key 'stitching.train.sparsities': one k for the whole family (the family "
                              f"varies only the dictionary size); got {list(self.train.sparsities)}")
        if len(self.train.dict_ratios) < 2 or list(self.train.dict_ratios) != sorted(self.train.dict_ratios):
            raise ConfigError("config key 'stitching.train.dict_ratios': at least two sizes, in increasing order; "
                              f"got {list(self.train.dict_ratios)}")
        if self.toy.meta_k > self.toy.colours + self.toy.shapes:
            raise ConfigError("config key 'stitching.toy.meta_k': k exceeds the meta-SAE's "
                              f"{self.toy.colours + self.toy.shapes} latents")

    def cross_check(self, root: Any) -> None:
        """The model must be one of ``root.lm.models``; where its config is on this machine, the site must exist,
        the sizes be whole and the meta-SAE have at least ``meta.k`` latents."""
        if self.model not in root.lm.models:
            raise ConfigError(f"config key 'stitching.model': unknown model {self.model!r}; lm.models defines "
                              f"{sorted(root.lm.models)}")
        summary = local_architecture(root.lm.models[self.model])
        check_site("stitching.site", self.model, self.site, summary)
        if summary is not None:
            width = site_width(self.site, summary)
            check_sweep("stitching.train", self.train, width, f"the width of {self.model}'s {self.site}")
            largest = round(max(self.train.dict_ratios) * width)
            if meta_width(largest, self.meta.width_ratio) < self.meta.k:
                raise ConfigError(f"config keys 'stitching.meta.width_ratio' and 'stitching.meta.k': "
                                  f"{meta_width(largest, self.meta.width_ratio)} meta-latents for {largest} "
                                  f"latents is fewer than k = {self.meta.k}")


def meta_width(latents: int, ratio: float) -> int:
    """Meta-latents of a meta-SAE on ``latents`` decoder directions: round(ratio × latents), at least 1."""
    return max(1, round(ratio * latents))
