"""Synthetic activations of Deng, Tao & Benton (2023), Appendix D: sparse linear data and three controls."""

from __future__ import annotations

import math

import torch

__all__ = ["SEPARATION_ACTIVE", "sparse_coefficients", "sparse_linear", "unit_sphere", "gaussian", "heavy_tailed", "rademacher",
           "to_unit_mean_norm"]

# Section 3.1, Fig 1b and Fig 4: the sparse linear datasets "a = 5, 10, 20" are compared with the controls.
SEPARATION_ACTIVE = (5.0, 10.0, 20.0)


def unit_sphere(count: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(count, d) vectors uniform on the unit sphere."""
    vectors = torch.randn(count, d, generator=generator)
    return vectors / vectors.norm(dim=1, keepdim=True)


def sparse_coefficients(n: int, m: int, active: float, generator: torch.Generator) -> torch.Tensor:
    """(n, m) coefficients: each uniform(0, 1) with probability a/m, else 0 (a = ``active`` on average)."""
    if not 0 < active <= m:
        raise ValueError(f"active features a={active} must lie in (0, {m}]")
    coefficients = torch.rand(n, m, generator=generator)
    return coefficients * (torch.rand(n, m, generator=generator) < active / m)


def sparse_linear_parts(n: int, d: int, active: float, features_per_dim: int, sigma: float,
                        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(data (n, d), the true features (m, d), the true coefficients (n, m)) of :func:`sparse_linear`."""
    m = features_per_dim * d
    features = unit_sphere(m, d, generator)
    coefficients = sparse_coefficients(n, m, active, generator)
    proto = coefficients @ features
    proto -= proto.mean(dim=0)
    return proto + math.sqrt(active * sigma**2 / d) * torch.randn(n, d, generator=generator), features, coefficients


def sparse_linear(n: int, d: int, active: float, features_per_dim: int, sigma: float,
                  generator: torch.Generator) -> torch.Tensor:
    """(n, d) sparse linear activations with ``active`` = a features active on average.

    m = features_per_dim · d ground-truth features uniform on the sphere; each coefficient is uniform(0, 1)
    with probability a/m, else 0; the proto-activations Σ αᵢ fᵢ are centred, then Gaussian noise of variance
    a σ²/d is added to each coordinate. The "correct" sparsity value is a/2.
    """
    return sparse_linear_parts(n, d, active, features_per_dim, sigma, generator)[0]


def gaussian(n: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(n, d) standard Gaussian (identity covariance): not sparse."""
    return torch.randn(n, d, generator=generator)


def heavy_tailed(n: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(n, d) isotropic with Cauchy-distributed norm: Gaussian directions, norms |Cauchy|, scaled to identity
    covariance.

    A Cauchy norm has no finite second moment, so "identity covariance" is read as: the sample covariance's
    trace is d (the sample is rescaled by one scalar), which with isotropy makes it identity up to sampling.
    """
    directions = unit_sphere(n, d, generator)
    norms = _cauchy(n, generator).abs()
    x = directions * norms[:, None]
    return x * math.sqrt(d / x.pow(2).sum(dim=1).mean().item())


def _cauchy(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.tan(math.pi * (torch.rand(n, generator=generator, dtype=torch.float64) - 0.5)).float()


def rademacher(n: int, d: int, generator: torch.Generator) -> torch.Tensor:
    """(n, d) independent ±1 coordinates (identity covariance already): sparse-looking, not sparse linear."""
    return torch.randint(0, 2, (n, d), generator=generator).float() * 2 - 1


def to_unit_mean_norm(x: torch.Tensor) -> torch.Tensor:
    """(n, d) centred and scaled so the average L2 norm is 1 (Appendix D's scaling for comparable losses; also
    applied to embeddings and layer activations so that λ means the same for every model)."""
    x = x - x.mean(dim=0)
    return x / x.norm(dim=1).mean()
