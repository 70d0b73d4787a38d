"""An SAE as a set of inference latents: the form in which latents of different SAEs can be mixed.

A latent j has an encoder row w_j (h,), a folded bias c_j, a threshold t_j and a decoder row d_j (h,):
``f_j(x) = ReLU(x·w_j + c_j) · 1[x·w_j + c_j > t_j]`` and ``x̂ = Σ_j f_j(x) d_j + b_dec``.

A BatchTopK SAE at inference (:mod:`superposition.sae.batchtopk`) is exactly this, with c_j = b_enc,j − w_j·b_dec
(its pre-encoder bias folded in) and t_j = its global threshold θ. Folding the bias makes a latent's activation
independent of the SAE it is placed in, so a latent moved from a larger SAE into a smaller one fires exactly as it
did in its own SAE (our reading of "inserting a latent": its encoder row, encoder bias and decoder row move together;
the paper does not say how the two SAEs' decoder biases are reconciled, see :mod:`~.stitch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from superposition.sae.base import SAEStack

__all__ = ["LatentSet", "from_batchtopk"]


@dataclass(frozen=True)
class LatentSet:
    """J inference latents on inputs of width h, and a decoder bias.

    Attributes:
        w_enc: (J, h) encoder rows. bias: (J,) folded encoder biases. threshold: (J,) activation thresholds.
        w_dec: (J, h) decoder rows (unit norm for the SAEs of this experiment). b_dec: (h,) decoder bias.
    """

    w_enc: torch.Tensor
    bias: torch.Tensor
    threshold: torch.Tensor
    w_dec: torch.Tensor
    b_dec: torch.Tensor

    @property
    def size(self) -> int:
        return self.w_enc.shape[0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes: x (N, h) -> (N, J)."""
        pre = torch.addmm(self.bias, x, self.w_enc.T)
        return torch.relu(pre) * (pre > self.threshold)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstruction: codes (N, J) -> (N, h)."""
        return torch.addmm(self.b_dec, codes, self.w_dec)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """x̂: (N, h) -> (N, h)."""
        return self.decode(self.encode(x))

    def subset(self, index: torch.Tensor | list[int]) -> "LatentSet":
        """The latents ``index`` (same decoder bias)."""
        index = torch.as_tensor(index, dtype=torch.long)
        return LatentSet(self.w_enc[index], self.bias[index], self.threshold[index], self.w_dec[index], self.b_dec)

    def joined(self, other: "LatentSet") -> "LatentSet":
        """This SAE's latents followed by ``other``'s, with this SAE's decoder bias."""
        return LatentSet(torch.cat([self.w_enc, other.w_enc]), torch.cat([self.bias, other.bias]),
                         torch.cat([self.threshold, other.threshold]), torch.cat([self.w_dec, other.w_dec]),
                         self.b_dec)


def from_batchtopk(stack: SAEStack, model: int = 0) -> LatentSet:
    """Model ``model`` of a trained BatchTopK stack (threshold estimated) as inference latents."""
    if stack.architecture != "batchtopk":
        raise ValueError(f"expected a batchtopk stack, got {stack.architecture}")
    threshold = stack.buffers["threshold"][model]
    if torch.isnan(threshold):
        raise ValueError("batchtopk: the inference threshold has not been estimated")
    w_enc, b_enc = stack.w_enc[model].float(), stack.b_enc[model].float()
    b_dec = stack.params["b_dec"][model].float()
    return LatentSet(w_enc, b_enc - w_enc @ b_dec, threshold.float().expand(stack.dict_size).clone(),
                     stack.w_dec[model].float(), b_dec)
