"""Settings of the SAE architectures beyond the sparsity value: one typed definition, read from config.

Each field names the architectures that use it; the others ignore it. Defaults are the published values
(Gao et al. 2024 for TopK and AuxK, Rajamanoharan et al. 2024 / Gemma Scope for JumpReLU); config.yaml writes
them out and marks where a tier departs from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from superposition.config import param

__all__ = ["ArchitectureOptions", "AdamSettings"]


@dataclass(frozen=True)
class ArchitectureOptions:
    """Options of the TopK, BatchTopK and JumpReLU SAEs (relu_l1, Sharkey et al.'s SAE, uses none)."""

    k_aux: int = param("topk, batchtopk: AuxK reconstructs the residual from the k_aux largest pre-activations of "
                       "dead latents (Gao et al.: 512; capped at the number of dead latents)", default=512, minimum=1)
    aux_coefficient: float = param("topk, batchtopk: weight of the AuxK loss (Gao et al.: 1/32)", default=0.03125,
                                   minimum=0)
    dead_tokens: int = param("topk, batchtopk: a latent is dead for AuxK when it has not fired in the last this many "
                             "training tokens, counted in whole batches (Gao et al.: 10,000,000)", default=10_000_000,
                             minimum=1)
    b_dec_init: Literal["geometric_median", "mean"] = param(
        "topk, batchtopk: initial decoder bias, the geometric median (Gao et al.; Weiszfeld's algorithm) or the mean "
        "of the initialisation sample", default="geometric_median")
    init_samples: int = param("topk, batchtopk, jumprelu: samples drawn (from their own seed) for the data-dependent "
                              "initialisation: b_dec, the loss normaliser, the input scale (Gao et al.: 32,768)",
                              default=32768, minimum=2)
    bandwidth: float = param("jumprelu: width ε of the rectangle kernel of the threshold's pseudo-derivatives "
                             "(Rajamanoharan et al.: 0.001)", default=0.001, exclusive_minimum=0)
    initial_threshold: float = param("jumprelu: initial threshold θ of every latent (Gemma Scope: 0.001)",
                                     default=0.001, exclusive_minimum=0)
    l0_warmup_steps: int = param("jumprelu: the L0 coefficient grows linearly from 0 to its value over this many steps "
                                 "(Gemma Scope: 10,000)", default=10_000, minimum=0)
    threshold_batches: int = param("batchtopk: the inference threshold θ is the mean, over this many batches of the "
                                   "training size drawn after the last step (weights frozen), of the smallest "
                                   "activation BatchTopK keeps", default=100, minimum=1)


@dataclass(frozen=True)
class AdamSettings:
    """Adam's settings besides the learning rate (PyTorch's defaults are the report's)."""

    beta1: float = param("Adam β1 (report and Gao et al.: 0.9; Gemma Scope's JumpReLU: 0)", default=0.9, minimum=0,
                         exclusive_maximum=1)
    beta2: float = param("Adam β2 (0.999; Bussmann et al.'s BatchTopK: 0.99)", default=0.999, minimum=0,
                         exclusive_maximum=1)
    eps: float = param("Adam ε (1e-8; Gao et al.: 6.25e-10)", default=1e-8, exclusive_minimum=0)
    warmup_steps: int = param("the learning rate rises from 0.1× to its value along a half cosine over this many "
                              "steps, then stays constant (Gemma Scope: 1,000; 0 = constant from the start)",
                              default=0, minimum=0)

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at optimiser step ``step`` (1-based)."""
        if step > self.warmup_steps:
            return 1.0
        return 0.1 + 0.9 * (1 - math.cos(math.pi * (step - 1) / self.warmup_steps)) / 2
