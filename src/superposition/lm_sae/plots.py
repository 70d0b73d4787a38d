"""Figures of experiment `lm_sae`: the report's Figures 11–13 beside their toy-data counterparts, FVU, training.

Every function takes the loaded tables of :mod:`superposition.lm_sae.results` and returns a Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from superposition.plots import grid_heatmap, new_figure, sparsity_label

__all__ = [
    "side_by_side_figure",
    "dead_latents_figure",
    "ssll_figure",
    "mmcs_with_larger_figure",
    "fraction_variance_unexplained_figure",
    "training_curves_figure",
]

_LINE_STYLES = {0.5: ":", 1.0: "-", 2.0: "--"}  # by dictionary ratio J/d; other ratios dash-dot


def side_by_side_figure(lm: pd.DataFrame, toy: pd.DataFrame, value: str, title: str, **options: Any) -> Figure:
    """``value`` over the language-model grid (left) and the toy grid (right); ``options`` go to grid_heatmap."""
    fig, axes = new_figure((12, 4.5), 1, 2)
    grid_heatmap(axes[0], lm, value, f"language model: {title}", ratio_label="dictionary size / d", **options)
    grid_heatmap(axes[1], toy, value, f"toy data: {title}", ratio_label="dictionary size / G", **options)
    fig.tight_layout()
    return fig


def dead_latents_figure(lm: pd.DataFrame, toy: pd.DataFrame) -> Figure:
    """Figure 11 beside Figure 4: dead latents, capped at 100."""
    return side_by_side_figure(lm, toy, "dead_latents", "dead latents", cap=100, vmin=0, vmax=100, cmap="magma",
                               fmt="{:.0f}")


def ssll_figure(lm: pd.DataFrame, toy: pd.DataFrame) -> Figure:
    """Figure 12 beside Figure 9: summed standardized log losses."""
    return side_by_side_figure(lm, toy, "ssll", "SSLL", cmap="viridis")


def mmcs_with_larger_figure(lm: pd.DataFrame, toy: pd.DataFrame) -> Figure:
    """Figure 13 beside Figure 10: MMCS between each dictionary and the larger ones of the same α."""
    return side_by_side_figure(lm, toy, "mmcs_with_larger", "MMCS with larger dictionaries", vmin=0, vmax=1)


def fraction_variance_unexplained_figure(lm: pd.DataFrame) -> Figure:
    """Held-out fraction of variance unexplained over the language-model grid (not in the report)."""
    fig, ax = new_figure((6, 4.5))
    grid_heatmap(ax, lm, "fraction_variance_unexplained", "language model: FVU (held out)",
                 ratio_label="dictionary size / d", vmin=0, vmax=1, cmap="cividis")
    fig.tight_layout()
    return fig


def training_curves_figure(history: pd.DataFrame, lm: pd.DataFrame) -> Figure:
    """Training reconstruction and penalty (L1) losses of every model: colour by sparsity value (log), line style
    by dictionary size."""
    low, high = lm.sparsity.min(), lm.sparsity.max()
    symbol = sparsity_label(lm).split()[-1]  # α, k or λ
    fig, axes = new_figure((12, 4), 1, 2)
    for (alpha, ratio), part in history.groupby(["sparsity", "dict_ratio"]):
        # position of α on the grid's log range; the 1e-12 keeps a single-α grid from dividing by zero
        colour = colormaps["viridis"](np.log(alpha / low) / np.log(high / low + 1e-12))
        style = _LINE_STYLES.get(ratio, "-.")
        axes[0].plot(part.step, part.reconstruction_loss, style, color=colour, lw=1)
        axes[1].plot(part.step, part.penalty_loss, style, color=colour, lw=1,
                     label=f"{symbol} {alpha:g}, J/d {ratio:g}")
    penalty = "L1 loss (α/J)‖c‖₁" if symbol == "α" else "penalty loss"
    for ax, label in zip(axes, ["reconstruction loss (1/d)‖x − x̂‖²", penalty]):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=6, ncol=2)
    fig.suptitle(f"training losses (colour: {symbol}; line style: dictionary size)")
    fig.tight_layout()
    return fig
