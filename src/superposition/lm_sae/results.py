"""Read experiment `lm_sae`'s evaluation and claims (``results/lm_sae/``) and the toy grid it is compared with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from superposition.claims import read_claims
from superposition.io import read_json

__all__ = ["LmSaeResults", "load_lm_sae_results"]


@dataclass(frozen=True)
class LmSaeResults:
    """Everything the report draws.

    Attributes:
        metrics: ``metrics.csv``, one row per grid point of the language-model sweep.
        toy_metrics: ``metrics.csv`` of experiment `toy_sae`, drawn beside it (Figures 4, 9, 10 of the report).
        history: ``history.csv``, training losses in long form (step, architecture, sparsity, dict_ratio, two losses).
        summary: ``metrics.json`` (``summary``, ``activations``, ``train_config``).
        claims: ``claims.json``.
    """

    metrics: pd.DataFrame
    toy_metrics: pd.DataFrame
    history: pd.DataFrame
    summary: dict[str, Any]
    claims: dict[str, Any]


def load_lm_sae_results(results_dir: Path | str, toy_results_dir: Path | str) -> LmSaeResults:
    """Read ``results_dir`` (``results/lm_sae``) and the toy metrics in ``toy_results_dir`` (``results/toy_sae``)."""
    results = Path(results_dir)
    # The toy table is read here, not through superposition.toy_sae: experiments never import each other.
    return LmSaeResults(metrics=pd.read_csv(results / "metrics.csv"),
                        toy_metrics=pd.read_csv(Path(toy_results_dir) / "metrics.csv"),
                        history=pd.read_csv(results / "history.csv"), summary=read_json(results / "metrics.json"),
                        claims=read_claims(results / "claims.json"))
