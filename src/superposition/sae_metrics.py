"""Reconstruction and sparsity metrics of an SAE on held-out activations (SAELens's definitions, as Heap et al.
report them), accumulated over chunks so that large evaluation sets never sit in memory at once.

With inputs x (n, d), reconstructions x̂ (n, d) and latent codes f (n, m):

- ``fraction_variance_explained`` = 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖², x̄ the mean over all n tokens (1 − FVU, a ratio
  of sums; the per-token mean of SAELens's older definition is ``per_token_explained_variance``);
- ``per_token_explained_variance`` = mean over tokens of 1 − ‖x − x̂‖² / ‖x − x̄‖²;
- ``cosine_similarity`` = mean over tokens of ⟨x, x̂⟩ / (‖x‖ ‖x̂‖) (0 where either is 0);
- ``l0`` = mean over tokens of #{f > 0}; ``l1`` = mean over tokens of Σ|f|;
- ``dead_fraction`` = the fraction of latents that are 0 on every one of the n tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["ReconstructionMetrics", "reconstruction_metrics", "METRIC_NAMES"]

METRIC_NAMES = ("fraction_variance_explained", "per_token_explained_variance", "cosine_similarity", "l0", "l1",
                "dead_fraction")


@dataclass
class ReconstructionMetrics:
    """Running sums over chunks; :meth:`result` gives the metrics of everything added (float64 sums)."""

    n_latents: int
    tokens: int = 0
    squared_error: float = 0.0
    sum_x: torch.Tensor | None = None
    sum_squared_norm: float = 0.0
    per_token_ev: float = 0.0
    cosine: float = 0.0
    l0: float = 0.0
    l1: float = 0.0
    fired: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))

    def add(self, x: torch.Tensor, x_hat: torch.Tensor, codes: torch.Tensor, mean: torch.Tensor) -> None:
        """Add a chunk: x, x̂ (n, d), codes (n, m); ``mean`` (d,) is x̄ over the whole evaluation set (the
        per-token ratio needs it per chunk)."""
        x, x_hat, codes = x.double(), x_hat.double(), codes.double()
        if self.fired.numel() == 0:
            self.fired = torch.zeros(self.n_latents, dtype=torch.bool)
            self.sum_x = torch.zeros(x.shape[1], dtype=torch.float64)
        error = (x - x_hat).pow(2).sum(dim=1)  # (n,)
        spread = (x - mean.double()).pow(2).sum(dim=1)  # (n,)
        self.tokens += x.shape[0]
        self.squared_error += float(error.sum())
        self.sum_x += x.sum(dim=0)
        self.sum_squared_norm += float(x.pow(2).sum())
        self.per_token_ev += float((1 - error / spread.clamp_min(1e-30)).sum())
        norms = x.norm(dim=1) * x_hat.norm(dim=1)
        self.cosine += float(torch.where(norms > 0, (x * x_hat).sum(dim=1) / norms.clamp_min(1e-30), 0.0).sum())
        self.l0 += float((codes > 0).sum())
        self.l1 += float(codes.abs().sum())
        self.fired |= (codes > 0).any(dim=0).cpu()

    def result(self) -> dict[str, float]:
        """Every metric of :data:`METRIC_NAMES`."""
        if self.tokens == 0:
            raise ValueError("no tokens were added")
        mean = self.sum_x / self.tokens
        total_spread = self.sum_squared_norm - self.tokens * float(mean.pow(2).sum())  # Σ‖x − x̄‖²
        return {"fraction_variance_explained": 1 - self.squared_error / max(total_spread, 1e-30),
                "per_token_explained_variance": self.per_token_ev / self.tokens,
                "cosine_similarity": self.cosine / self.tokens, "l0": self.l0 / self.tokens,
                "l1": self.l1 / self.tokens, "dead_fraction": 1 - float(self.fired.double().mean())}


def reconstruction_metrics(x: torch.Tensor, x_hat: torch.Tensor, codes: torch.Tensor) -> dict[str, float]:
    """The metrics of one evaluation set held in memory: x, x̂ (n, d), codes (n, m)."""
    metrics = ReconstructionMetrics(codes.shape[1])
    metrics.add(x, x_hat, codes, x.double().mean(dim=0))
    return metrics.result()
