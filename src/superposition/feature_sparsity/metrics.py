"""The four sparsity metrics of Deng, Tao & Benton (2023), Section 3, plus variance explained.

Every function takes codes α (..., n, m) (n samples, m features, any leading problem axes) and returns one
value per problem (...). Notation: ||α||_0, ||α||_p^p are summed over a sample's coefficients and averaged over
samples; ||α||_∞ is the average over samples of each sample's largest coefficient ("average max coefficient").
"""

from __future__ import annotations

import torch

__all__ = ["nonzero_count", "final_loss", "average_coefficient_norm", "normalized_loss", "variance_explained",
           "average_max_coefficient", "reconstruction_error"]


def average_max_coefficient(codes: torch.Tensor) -> torch.Tensor:
    """||α||_∞ = (1/n) Σ_j max_i α_ij: (..., n, m) -> (...)."""
    return codes.amax(dim=-1).mean(dim=-1)


def nonzero_count(codes: torch.Tensor) -> torch.Tensor:
    """N0 = (1/n) ||α||_0, the average number of non-zero coefficients per sample: (..., n, m) -> (...)."""
    return (codes != 0).sum(dim=-1).to(codes.dtype).mean(dim=-1)


def reconstruction_error(x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """(1/n) ||X − α Φᵀ||², x (..., n, d), Φ (..., d, m), α (..., n, m) -> (...)."""
    return (x - codes @ phi.transpose(-1, -2)).pow(2).sum(dim=(-1, -2)) / x.shape[-2]


def final_loss(x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor, lam: torch.Tensor | float) -> torch.Tensor:
    """L(Φ) = (1/n)(||X − α Φᵀ||² + λ ||α||₁), the sparse coding objective at the codes α = α(Φ): (...).

    Not scale invariant: scaling X by s scales it by s² (with λ scaled by s, as the adaptive λ is).
    """
    return reconstruction_error(x, phi, codes) + lam * codes.abs().sum(dim=(-1, -2)) / codes.shape[-2]


def average_coefficient_norm(codes: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """S_p = ((1/n) Σ_j ||α_j||_p^p) / ||α||_∞^p, average L^p norm^p over (average max coefficient)^p: (...).

    Scale invariant; equals the average number of active features when every non-zero coefficient is the same.
    """
    return codes.abs().pow(p).sum(dim=-1).mean(dim=-1) / average_max_coefficient(codes).pow(p)


def normalized_loss(x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor,
                    lam: torch.Tensor | float) -> torch.Tensor:
    """L_norm = L(Φ) / (λ ||α||_∞): (...). Equals S_1 for a perfect reconstruction; imperfect reconstruction
    adds (1/n)||X − αΦᵀ||² / (λ ||α||_∞). Scale invariant when λ scales with X (the adaptive λ does)."""
    return final_loss(x, phi, codes, lam) / (lam * average_max_coefficient(codes))


def variance_explained(x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """1 − ||X − αΦᵀ||² / ||X − mean(X)||²: the fraction of the activations' variance the codes reconstruct."""
    total = (x - x.mean(dim=-2, keepdim=True)).pow(2).sum(dim=(-1, -2)) / x.shape[-2]
    return 1 - reconstruction_error(x, phi, codes) / total
