"""Sparse-code a stack of datasets and measure the four metrics (and variance explained) of each."""

from __future__ import annotations

import logging
import time

import torch

from superposition.feature_sparsity import metrics
from superposition.feature_sparsity.coder import LearnedDictionary, encode, learn_dictionary
from superposition.feature_sparsity.config import CoderConfig

__all__ = ["measure_codes", "code_and_measure"]

log = logging.getLogger(__name__)


def measure_codes(x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor, lam: torch.Tensor) -> list[dict]:
    """The metrics of each problem of a stack: x (K, n, d), Φ (K, d, m), α (K, n, m), λ (K,) -> K dicts."""
    values = {
        "n0": metrics.nonzero_count(codes),
        "final_loss": metrics.final_loss(x, phi, codes, lam),
        "s1": metrics.average_coefficient_norm(codes, p=1.0),
        "normalized_loss": metrics.normalized_loss(x, phi, codes, lam),
        "variance_explained": metrics.variance_explained(x, phi, codes),
        "average_max_coefficient": metrics.average_max_coefficient(codes),
        "lambda": lam,
    }
    return [{name: float(value[k]) for name, value in values.items()} for k in range(x.shape[0])]


def code_and_measure(x: torch.Tensor, config: CoderConfig, dict_size: int, lam: torch.Tensor | None,
                     generator: torch.Generator, eval_samples: int = 0, progress: bool = True,
                     label: str = "sparse coding") -> tuple[list[dict], LearnedDictionary]:
    """Learn a dictionary for each dataset of the stack x (K, n, d), then measure α(Φ) on it.

    The metrics use every sample (the paper's definition), or ``eval_samples`` random ones when that is
    positive (a cheaper estimate of the same averages). λ is adaptive when ``lam`` is None, else fixed (K,).
    """
    start = time.perf_counter()
    learned = learn_dictionary(x, config, dict_size, lam, generator, progress, label)
    if 0 < eval_samples < x.shape[1]:
        x = x[:, torch.randperm(x.shape[1], generator=generator, device=x.device)[:eval_samples]]
    codes = encode(x, learned.phi, learned.lam, config.max_active)
    rows = measure_codes(x, learned.phi, codes, learned.lam)
    # The time goes to the log, not into the rows: a rerun must give byte-identical results.
    log.info("%s: %d problem(s) coded and measured in %.1f s", label, len(rows), time.perf_counter() - start)
    for k, row in enumerate(rows):
        row["lambda_history"] = [round_lams[k] for round_lams in learned.lam_history]
        # A lower bound on the samples stopped by max_active (one that re-picked a feature has fewer supports).
        row["hit_max_active"] = float((codes[k] > 0).sum(dim=1).ge(config.max_active).float().mean())
    return rows, learned
