"""Read the evaluation and claims files of experiment `toy_sae` (``results/toy_sae/``) back for its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from superposition.claims import read_claims
from superposition.io import read_json

__all__ = ["ToySaeResults", "load_toy_sae_results"]


@dataclass(frozen=True)
class ToySaeResults:
    """Everything the report draws, as written by the evaluation and claims rules.

    Attributes:
        metrics: ``metrics.csv``, one row per grid point (architecture, sparsity, dict_ratio, mmcs, dead_latents, ...).
        summary: ``metrics.json`` (``summary``, ``train_config``, ``points``).
        history: ``training_history.csv`` in long form (step, architecture, sparsity, dict_ratio, two losses).
        recovery: ``recovery_by_frequency.csv`` (architecture, sparsity, dict_ratio, frequency_group, mmcs).
        claims: ``claims.json``.
        architectures: ``architectures/metrics.csv``, the secondary architecture comparison (one row per SAE:
            architecture, sparsity, dict_ratio, mean_l0, mmcs, fraction_variance_unexplained, ...).
        dead_latents: ``dead_latents/dead_latents_by_lr.csv``, the Figure 4 appendix (lr, steps, dict_ratio, sparsity,
            window, dead_latents, ...).
    """

    metrics: pd.DataFrame
    summary: dict[str, Any]
    history: pd.DataFrame
    recovery: pd.DataFrame
    claims: dict[str, Any]
    architectures: pd.DataFrame
    dead_latents: pd.DataFrame

    @property
    def train_config(self) -> dict[str, Any]:
        """The sweep's training settings (steps, lr, batch_size, grid)."""
        return self.summary["train_config"]

    @property
    def dead_window(self) -> int:
        """T: a latent is dead when it did not fire in the last T training batches."""
        return int(self.summary["summary"]["dead_window"])


def load_toy_sae_results(results_dir: Path | str) -> ToySaeResults:
    """Read ``results_dir`` (``results/toy_sae``)."""
    results = Path(results_dir)
    return ToySaeResults(metrics=pd.read_csv(results / "metrics.csv"), summary=read_json(results / "metrics.json"),
                         history=pd.read_csv(results / "training_history.csv"),
                         recovery=pd.read_csv(results / "recovery_by_frequency.csv"),
                         claims=read_claims(results / "claims.json"),
                         architectures=pd.read_csv(results / "architectures" / "metrics.csv"),
                         dead_latents=pd.read_csv(results / "dead_latents" / "dead_latents_by_lr.csv"))
