"""The superposition phase change for n = 2 features in m = 1 dimension (Elhage et al. 2022).

Feature 0 has importance 1, feature 1 (the "extra" feature) importance r; both are non-zero with probability
p (the feature density 1 − S) and then Uniform(0, 1). The three candidate solutions for the extra feature,
with zero bias, and their expected losses E[Σ_i I_i (x_i − x'_i)²]:

* not represented, W = [1, 0]: feature 1 is always predicted as 0, so L = r · E[x²] = r p / 3;
* dedicated dimension, W = [0, 1]: feature 0 is dropped instead, L = p / 3;
* superposition, W = [1, −1] (antipodal): x'_0 = ReLU(x_0 − x_1) and x'_1 = ReLU(x_1 − x_0) are exact unless both
  features are active (probability p²); then both errors equal min(x_0, x_1), so
  L = (1 + r) p² E[min(u, v)²] = (1 + r) p² / 6.

The theoretical phase is the candidate of least expected loss. A trained model is classified from its norms:
the extra feature is represented when ||W_1|| > 0.5; it has a dedicated dimension when feature 0 is not
represented, and is in superposition when both are.
"""

from __future__ import annotations

import numpy as np
import torch

from superposition.tms.measures import REPRESENTED_NORM, feature_norms

__all__ = ["PHASES", "candidate_losses", "theoretical_phase", "classify_phase"]

PHASES = ("not represented", "dedicated dimension", "superposition")


def candidate_losses(relative_importance: np.ndarray | float, density: np.ndarray | float) -> np.ndarray:
    """Expected losses of the three candidates, stacked on a last axis in the order of PHASES."""
    r = np.asarray(relative_importance, dtype=float)
    p = np.asarray(density, dtype=float)
    return np.stack(np.broadcast_arrays(r * p / 3, p / 3 + 0 * r, (1 + r) * p**2 / 6), axis=-1)


def theoretical_phase(relative_importance: np.ndarray | float, density: np.ndarray | float) -> np.ndarray:
    """Index into PHASES of the candidate with the least expected loss (ties go to the earlier phase)."""
    return np.argmin(candidate_losses(relative_importance, density), axis=-1)


def classify_phase(w: torch.Tensor, threshold: float = REPRESENTED_NORM) -> torch.Tensor:
    """Phase (index into PHASES) of trained n = 2, m = 1 models: w (..., 2, 1) -> (...,) long."""
    if w.shape[-2:] != (2, 1):
        raise ValueError(f"the phase classifier needs n = 2, m = 1 models, got W of shape {tuple(w.shape)}")
    norms = feature_norms(w)
    extra, first = norms[..., 1] > threshold, norms[..., 0] > threshold
    phase = torch.zeros(norms.shape[:-1], dtype=torch.long)
    phase[extra & ~first] = 1
    phase[extra & first] = 2
    return phase
