"""Markdown of experiment `toy_sae`'s report: this run's settings against the paper tier's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from superposition.markdown import frame_markdown, markdown_table
from superposition.toy_sae.paper import PAPER_TRAIN

__all__ = ["settings_markdown", "best_by_architecture", "architectures_markdown"]


def settings_markdown(train_config: dict[str, Any], dead_window: int) -> str:
    """This run's steps, lr, batch, grid and dead window beside the paper tier's, and any deviation in words."""
    rows: list[tuple[Any, ...]] = [(key, train_config[key], PAPER_TRAIN[key]) for key in ("steps", "lr", "batch_size")]
    rows.append(("architecture", train_config["architecture"], "relu_l1 (the report's SAE)"))
    rows.append(("sparsity values (L1 coefficients for relu_l1)",
                 ", ".join(f"{v:.3g}" for v in train_config["sparsities"]), "10^(k/4), k = −8..8"))
    rows.append(("dictionary ratios J/G", ", ".join(f"{v:g}" for v in train_config["dict_ratios"]), "2^−2 .. 2^5"))
    rows.append(("dead-neuron window T", dead_window, 500))
    table = markdown_table(("setting", "this run", "paper tier (authors' code)"), rows)
    deviations = [key for key in ("steps", "lr") if train_config[key] != PAPER_TRAIN[key]]
    if not deviations:
        return table + "\n\nPaper settings."
    return (table + "\n\n**Deviation from the paper:** "
            + ", ".join(f"{key} = {train_config[key]} (paper tier {PAPER_TRAIN[key]})" for key in deviations)
            + ". The default tier trades steps for a larger learning rate to finish in minutes on a CPU; the paper "
              "tier (`--configfile configs/paper.yaml`) uses the paper's values.")


def best_by_architecture(table: pd.DataFrame, ratio: float = 1.0) -> pd.DataFrame:
    """The best-MMCS row of each architecture at dictionary ratio ``ratio`` (the comparison's table)."""
    rows = table[np.isclose(table.dict_ratio, ratio)]
    return rows.loc[rows.groupby("architecture", sort=False).mmcs.idxmax()]


def architectures_markdown(table: pd.DataFrame) -> str:
    """The architecture comparison's best MMCS per architecture at J = G, with its sparsity value, L0 and FVU."""
    best = best_by_architecture(table)[["architecture", "sparsity", "mean_l0", "mmcs", "fraction_variance_unexplained"]]
    return "Best MMCS of each architecture at J = G:\n\n" + frame_markdown(best)
