"""Data-dependent initialisation: the decoder bias, the loss normaliser and the input scale from a data sample."""

from __future__ import annotations

import torch

__all__ = ["geometric_median", "initial_b_dec", "centred_variance", "mean_squared_norm"]

WEISZFELD_ITERATIONS = 100
WEISZFELD_TOLERANCE = 1e-5  # relative change of the estimate at which the iteration stops


@torch.no_grad()
def geometric_median(points: torch.Tensor, iterations: int = WEISZFELD_ITERATIONS,
                     tolerance: float = WEISZFELD_TOLERANCE) -> torch.Tensor:
    """argmin_m Σ_n ||x_n − m||₂ by Weiszfeld's algorithm from the mean, in float64: (N, h) -> (h,).

    Each iteration is ``m ← Σ_n w_n x_n / Σ_n w_n`` with ``w_n = 1 / max(||x_n − m||, 1e-12)``; it stops after
    ``iterations`` or when ``||m_new − m|| ≤ tolerance · max(||m||, 1e-12)``.
    """
    data = points.double()
    median = data.mean(dim=0)
    for _ in range(iterations):
        weights = 1.0 / (data - median).norm(dim=1).clamp_min(1e-12)
        updated = (weights[:, None] * data).sum(dim=0) / weights.sum()
        change = (updated - median).norm()
        median = updated
        if change <= tolerance * max(median.norm().item(), 1e-12):
            break
    return median.to(points.dtype)


def initial_b_dec(data: torch.Tensor, how: str) -> torch.Tensor:
    """Gao et al.'s initial decoder bias: the geometric median (``geometric_median``) or the ``mean``: (h,)."""
    if how == "geometric_median":
        return geometric_median(data)
    if how == "mean":
        return data.mean(dim=0)
    raise ValueError(f"unknown b_dec initialisation {how!r}: choose geometric_median or mean")


def centred_variance(data: torch.Tensor) -> float:
    """σ² = mean over samples and dimensions of (x − μ)², μ the sample mean: Gao et al.'s MSE normaliser."""
    data = data.double()
    return float((data - data.mean(dim=0)).pow(2).mean())


def mean_squared_norm(data: torch.Tensor) -> float:
    """E||x||² over the sample (Gemma Scope scales inputs by 1/sqrt of this)."""
    return float(data.double().pow(2).sum(dim=1).mean())
