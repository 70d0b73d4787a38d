"""Figures of the secondary architecture comparison: ground-truth recovery and reconstruction against L0."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from superposition.sae import get_architecture

__all__ = ["mmcs_vs_l0", "fvu_vs_l0", "ARCHITECTURE_STYLE"]

ARCHITECTURE_STYLE = {"relu_l1": ("tab:blue", "o"), "topk": ("tab:orange", "s"), "batchtopk": ("tab:green", "^"),
                      "jumprelu": ("tab:red", "D")}


def _curves(table: pd.DataFrame, value: str, ylabel: str, title: str, true_l0: float | None,
            log_y: bool = False) -> Figure:
    """One panel per dictionary ratio, one curve per architecture: ``value`` against held-out mean L0."""
    ratios = sorted(table.dict_ratio.unique())
    figure = Figure(figsize=(5.2 * len(ratios), 3.8))
    axes = figure.subplots(1, len(ratios), squeeze=False, sharey=True)[0]
    for ax, ratio in zip(axes, ratios):
        rows = table[np.isclose(table.dict_ratio, ratio)]
        for architecture, curve in rows.groupby("architecture", sort=False):
            colour, marker = ARCHITECTURE_STYLE.get(architecture, ("black", "x"))
            curve = curve.sort_values("mean_l0")
            label = f"{architecture}: {get_architecture(architecture).sparsity_label}"
            ax.plot(curve.mean_l0, curve[value], marker=marker, color=colour, label=label)
            for row in curve.itertuples():
                ax.annotate(f"{row.sparsity:g}", (row.mean_l0, getattr(row, value)), fontsize=6,
                            textcoords="offset points", xytext=(3, 3), color=colour)
        if true_l0 is not None:
            ax.axvline(true_l0, color="grey", ls=":", lw=1, label=f"true mean L0 ({true_l0:g})")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel("mean L0 on held-out data (log scale)")
        ax.set_title(f"J / G = {ratio:g}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=7, loc="best")
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def mmcs_vs_l0(table: pd.DataFrame, true_l0: float | None = 5.0) -> Figure:
    """MMCS with the ground-truth features against mean L0; points labelled with their sparsity value."""
    figure = _curves(table, "mmcs", "MMCS with ground truth", "Ground-truth recovery against sparsity", true_l0)
    for ax in figure.axes:
        ax.set_ylim(0, 1.02)
    return figure


def fvu_vs_l0(table: pd.DataFrame, true_l0: float | None = 5.0) -> Figure:
    """Fraction of variance unexplained (held out) against mean L0, log-log."""
    return _curves(table, "fraction_variance_unexplained", "fraction of variance unexplained",
                   "Reconstruction against sparsity", true_l0, log_y=True)
