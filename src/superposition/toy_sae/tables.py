"""Markdown of experiment `toy_sae`'s report: this run's settings against the paper tier's."""

from __future__ import annotations

from typing import Any

from superposition.markdown import markdown_table
from superposition.toy_sae.paper import PAPER_TRAIN

__all__ = ["settings_markdown"]


def settings_markdown(train_config: dict[str, Any], dead_window: int) -> str:
    """This run's steps, lr, batch, grid and dead window beside the paper tier's, and any deviation in words."""
    rows: list[tuple[Any, ...]] = [(key, train_config[key], PAPER_TRAIN[key]) for key in ("steps", "lr", "batch_size")]
    rows.append(("L1 coefficients", ", ".join(f"{v:.3g}" for v in train_config["l1_coefficients"]),
                 "10^(k/4), k = −8..8"))
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
