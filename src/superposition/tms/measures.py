"""Measures of superposition in a trained toy model (Elhage et al. 2022), each on W stored as (n, m).

Row i of ``w`` is the paper's column W_i, feature i's direction in the m-dimensional hidden space.
"""

from __future__ import annotations

import math

import torch

__all__ = ["feature_norms", "superposition", "dimensions_per_feature", "feature_dimensionality", "share_near", "FRACTIONS", "FRACTION_TOLERANCE",
           "neighbour_angles", "REPRESENTED_NORM", "n_represented"]

# A feature counts as represented when ||W_i|| exceeds this (the claims' and the phase classifier's threshold).
REPRESENTED_NORM = 0.5
# "The Geometry of Superposition": D_i clusters at these fractions (tetrahedra 3/4, triangles 2/3, digons 1/2,
# pentagons 2/5, square antiprisms 3/8, and 1 for features with a dimension of their own).
FRACTIONS = (1.0, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8)
FRACTION_TOLERANCE = 0.02  # how close to a fraction counts as "on" it (the figure's lines are this sharp)


def feature_norms(w: torch.Tensor) -> torch.Tensor:
    """||W_i|| for every feature: (..., n, m) -> (..., n)."""
    return w.norm(dim=-1)


def n_represented(w: torch.Tensor, threshold: float = REPRESENTED_NORM) -> torch.Tensor:
    """Number of features with ||W_i|| > threshold: (..., n, m) -> (...,)."""
    return (feature_norms(w) > threshold).sum(dim=-1)


def _projections_squared(w: torch.Tensor) -> torch.Tensor:
    """(Ŵ_i · W_j)² for all i, j: (..., n, m) -> (..., n, n); rows of zero-norm features are 0."""
    gram = w @ w.transpose(-1, -2)  # (..., n, n): W_i · W_j
    norms_squared = gram.diagonal(dim1=-2, dim2=-1)
    safe = torch.where(norms_squared > 0, norms_squared, torch.ones_like(norms_squared))
    return torch.where(norms_squared.unsqueeze(-1) > 0, gram.pow(2) / safe.unsqueeze(-1), 0.0)


def superposition(w: torch.Tensor) -> torch.Tensor:
    """How much feature i shares its direction: Σ_{j≠i} (Ŵ_i · W_j)². (..., n, m) -> (..., n).

    0 for a feature orthogonal to all others; 0 for a zero-norm feature.
    """
    squared = _projections_squared(w)
    return squared.sum(dim=-1) - squared.diagonal(dim1=-2, dim2=-1)


def dimensions_per_feature(w: torch.Tensor) -> torch.Tensor:
    """D* = m / ||W||_F²: hidden dimensions per (embedding-weighted) feature. (..., n, m) -> (...,)."""
    return w.shape[-1] / w.pow(2).sum(dim=(-2, -1))


def feature_dimensionality(w: torch.Tensor) -> torch.Tensor:
    """D_i = ||W_i||² / Σ_j (Ŵ_i · W_j)², the fraction of a dimension feature i gets. (..., n, m) -> (..., n).

    1 for a feature orthogonal to all others, 1/2 for an antipodal pair, 2/5 in a pentagon; 0 for a zero-norm
    feature.
    """
    squared = _projections_squared(w)
    norms_squared = w.pow(2).sum(dim=-1)
    total = squared.sum(dim=-1)
    return torch.where(total > 0, norms_squared / torch.where(total > 0, total, torch.ones_like(total)), 0.0)


def neighbour_angles(w: torch.Tensor, features: list[int] | None = None) -> list[float]:
    """Angles in degrees between angularly adjacent feature directions in a 2-D hidden space (m = 2).

    w: (n, 2). The chosen features' directions are sorted by angle; the result lists the gaps between
    neighbours, including the wrap-around gap, so they sum to 360.
    """
    if w.shape[-1] != 2:
        raise ValueError(f"neighbour angles need a 2-D hidden space, got m = {w.shape[-1]}")
    chosen = w if features is None else w[features]
    angles = sorted(math.degrees(math.atan2(y, x)) % 360.0 for x, y in chosen.tolist())
    return [b - a for a, b in zip(angles, angles[1:])] + [angles[0] + 360.0 - angles[-1]]


def share_near(values: list[float], targets: tuple[float, ...], tolerance: float) -> float:
    """Fraction of ``values`` within ± ``tolerance`` of any of ``targets`` (0 for no values)."""
    if not values:
        return 0.0
    return sum(any(abs(v - t) <= tolerance for t in targets) for v in values) / len(values)
