"""Metrics of Sharkey, Braun & Millidge (2022) for judging learned dictionaries, with or without ground truth.

Every function states its formula; the tests check each on hand-built answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = ["max_cosine_similarity", "mmcs", "mmcs_with_larger", "count_dead_latents", "standardized_log",
           "summed_standardized_log_loss"]


def _unit_rows(matrix: torch.Tensor) -> torch.Tensor:
    return matrix / matrix.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(matrix.dtype).tiny)


@torch.no_grad()
def max_cosine_similarity(learned: torch.Tensor, reference: torch.Tensor, chunk_size: int = 4096) -> torch.Tensor:
    """For every reference row g, ``max_j cos(learned_j, reference_g)``.

    learned: (J, h), reference: (G, h) -> (G,). Rows need not be normalised; learned rows are processed in
    chunks of ``chunk_size`` so that large dictionaries never build the full (G, J) matrix.
    """
    if learned.ndim != 2 or reference.ndim != 2 or learned.shape[1] != reference.shape[1]:
        raise ValueError(f"need (J, h) and (G, h) matrices, got {tuple(learned.shape)} and {tuple(reference.shape)}")
    reference_unit = _unit_rows(reference.float())
    best = torch.full((reference.shape[0],), -1.0, device=reference.device)
    for start in range(0, learned.shape[0], chunk_size):
        chunk = _unit_rows(learned[start : start + chunk_size].float().to(reference.device))
        best = torch.maximum(best, (reference_unit @ chunk.T).max(dim=1).values)
    return best


def mmcs(learned: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean max cosine similarity: ``MMCS = (1/G) Σ_g max_j cos(D_j, F_g)``.

    learned D: (J, h), one dictionary element per row; reference F: (G, h), e.g. the ground-truth features.
    Invariant to permuting either set; J and G may differ.
    """
    return max_cosine_similarity(learned, reference).mean().item()


def mmcs_with_larger(dictionaries: Mapping[int, torch.Tensor], next_only: bool = False) -> dict[int, float]:
    """Method 3 of the report: each dictionary against the larger ones trained at the same L1.

    ``dictionaries`` maps size J to its (J, h) elements. For size J the value is the mean over sizes J' > J of
    ``MMCS(D_J', D_J)`` (the smaller dictionary plays the ground truth), as the report's Figure 10 caption says;
    with ``next_only``, ``MMCS(D_J', D_J)`` for the next larger size J' alone, as the authors' public code
    computes it. NaN for the largest size.
    """
    sizes = sorted(dictionaries)
    result: dict[int, float] = {}
    for index, size in enumerate(sizes):
        larger = sizes[index + 1 : index + 2] if next_only else sizes[index + 1 :]
        values = [mmcs(dictionaries[other], dictionaries[size]) for other in larger]
        result[size] = float(np.mean(values)) if values else math.nan
    return result


def count_dead_latents(steps_since_fired: torch.Tensor, window: int) -> torch.Tensor:
    """Latents that did not activate (post-ReLU value > 0) in the last ``window`` training batches.

    steps_since_fired: (..., J) batches since each latent last fired -> (...,) counts of those ≥ window.
    """
    if window < 1:
        raise ValueError(f"window must be ≥ 1, got {window}")
    return (steps_since_fired >= window).sum(dim=-1)


def standardized_log(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``(log v − mean) / std`` over the entries where ``log v`` is finite; NaN elsewhere (e.g. v = 0).

    The population standard deviation (ddof = 0) is used; a grid with one finite entry gives 0 there.
    """
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(array)
    finite = np.isfinite(logs)
    result = np.full(array.shape, np.nan)
    if finite.any():
        spread = logs[finite].std()
        centred = logs[finite] - logs[finite].mean()
        result[finite] = centred / spread if spread > 0 else 0.0
    return result


def summed_standardized_log_loss(
    reconstruction: Sequence[float] | np.ndarray, l1: Sequence[float] | np.ndarray
) -> np.ndarray:
    """SSLL = standardized_log(reconstruction loss) + standardized_log(L1 loss), elementwise over the grid.

    NaN where either log is undefined (an L1 loss of exactly 0: no latent ever active).
    """
    return standardized_log(reconstruction) + standardized_log(l1)
