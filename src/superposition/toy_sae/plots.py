"""Figures of experiment `toy_sae`: the report's Figures 1–10, training curves and recovery by frequency.

Every function takes the loaded tables of :mod:`superposition.toy_sae.results` and returns a Figure.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superposition.plots import grid_heatmap, new_figure, sparsity_label
from superposition.toy_sae.paper import GOLDILOCKS

__all__ = [
    "nearest_l1",
    "mmcs_vs_l1_figure",
    "mmcs_vs_ratio_figure",
    "mmcs_heatmap_figure",
    "dead_latents_figure",
    "dead_latents_by_lr_figure",
    "loss_vs_l1_figure",
    "standardized_loss_figure",
    "mmcs_with_larger_figure",
    "mmcs_with_next_larger_figure",
    "training_curves_figure",
    "recovery_by_frequency_figure",
]

LOSS_TITLES = {"reconstruction_loss": "Fig. 5: reconstruction loss (J = G)",
               "penalty_loss": "Fig. 6: {penalty} (J = G)"}
STANDARDIZED_TITLES = {"std_log_reconstruction": "Fig. 7: standardized log reconstruction loss",
                       "std_log_penalty": "Fig. 8: standardized log {penalty}", "ssll": "Fig. 9: SSLL (sum of the two)"}
_LINE_SIZE, _GRID_SIZE = (5.5, 3.6), (7, 4.2)


def nearest_l1(values: pd.Series | list[float], target: float) -> float:
    """The value of ``values`` closest to ``target`` on a log scale (the grid need not contain ``target``)."""
    grid = np.asarray(sorted(set(values)))
    return float(grid[np.argmin(np.abs(np.log(grid) - np.log(target)))])


def _ratio_one(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics[np.isclose(metrics.dict_ratio, 1.0)].sort_values("sparsity")


def penalty_name(metrics: pd.DataFrame) -> str:
    """What the penalty column holds: the report's "L1 loss" for relu_l1, else the architecture's penalty."""
    architectures = set(metrics["architecture"]) if "architecture" in metrics else {"relu_l1"}
    return "L1 loss" if architectures == {"relu_l1"} else "penalty loss"


def mmcs_vs_l1_figure(metrics: pd.DataFrame) -> Figure:
    """Figure 1: MMCS with the ground truth against α at J = G, with the report's Goldilocks zone shaded."""
    ratio_one = _ratio_one(metrics)
    fig, ax = new_figure(_LINE_SIZE)
    ax.axvspan(*GOLDILOCKS, color="tab:green", alpha=0.12, label="report's Goldilocks zone")
    ax.plot(ratio_one.sparsity, ratio_one.mmcs, "o-", label="ours, J = G")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(sparsity_label(metrics))
    ax.set_ylabel("MMCS with ground truth")
    ax.set_title("Fig. 1: MMCS vs α (J = G)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return fig


def mmcs_vs_ratio_figure(metrics: pd.DataFrame, target_l1: float = 0.1) -> Figure:
    """Figure 2: MMCS against dictionary size at the grid's α nearest ``target_l1`` (the report's 0.1)."""
    alpha = nearest_l1(metrics.sparsity, target_l1)
    at_alpha = metrics[np.isclose(metrics.sparsity, alpha)].sort_values("dict_ratio")
    fig, ax = new_figure(_LINE_SIZE)
    ax.plot(at_alpha.dict_ratio, at_alpha.mmcs, "o-")
    ax.axvline(1.0, color="grey", ls=":", label="J = G")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("dictionary size J / G")
    ax.set_ylabel("MMCS with ground truth")
    ax.set_title(f"Fig. 2: MMCS vs dictionary size (α = {alpha:.3g})")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _grid_figure(metrics: pd.DataFrame, value: str, title: str, **options: Any) -> Figure:
    fig, ax = new_figure(_GRID_SIZE)
    grid_heatmap(ax, metrics, value, title, **options)
    return fig


def mmcs_heatmap_figure(metrics: pd.DataFrame) -> Figure:
    """Figure 3: MMCS with the ground truth over the whole grid (log-log)."""
    return _grid_figure(metrics, "mmcs", "Fig. 3: MMCS with ground truth", vmin=0, vmax=1)


def dead_latents_figure(metrics: pd.DataFrame, dead_window: int) -> Figure:
    """Figure 4: dead latents over the grid, capped at 100 as in the report (T = ``dead_window`` batches)."""
    return _grid_figure(metrics, "dead_latents", f"Fig. 4: dead latents (T = {dead_window}, capped at 100)",
                        cmap="magma", vmin=0, vmax=100, cap=100, fmt="{:.0f}")


def dead_latents_by_lr_figure(table: pd.DataFrame, dead_window: int) -> Figure:
    """Appendix to Figure 4: dead latents against the window T, one colour per cell (J, α), solid in the first
    run of ``table`` (the sweep's) and dashed in the second (the retraining's, labelled with its learning rate and
    length); the claim's T marked."""
    fig, ax = new_figure(_LINE_SIZE)
    cells = table[["dict_ratio", "sparsity"]].drop_duplicates().itertuples(index=False)
    colours = {cell: f"C{i}" for i, cell in enumerate(cells)}
    first_run = (table.lr.iloc[0], table.steps.iloc[0])
    for (lr, steps, ratio, alpha), rows in table.groupby(["lr", "steps", "dict_ratio", "sparsity"], sort=False):
        style = "o-" if (lr, steps) == first_run else "s--"
        ax.plot(rows.window, rows.dead_latents, style, color=colours[ratio, alpha],
                label=f"×{ratio:g}, α = {alpha:.3g}, lr {lr:g}, {steps:,} steps")
    ax.axvline(dead_window, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    windows = sorted(table.window.unique())
    ax.set_xticks(windows, [str(w) for w in windows])
    ax.minorticks_off()
    ax.set_xlabel("window T (training batches)")
    ax.set_ylabel("dead latents")
    ax.set_title("Fig. 4 appendix: dead latents by training recipe and window")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def loss_vs_l1_figure(metrics: pd.DataFrame, column: Literal["reconstruction_loss", "penalty_loss"]) -> Figure:
    """Figures 5 and 6: a held-out loss against α at J = G (log-log; zero losses left out)."""
    ratio_one = _ratio_one(metrics)
    positive = ratio_one[ratio_one[column] > 0]  # log scale: an L1 loss of exactly 0 (all latents off) has no place
    fig, ax = new_figure(_LINE_SIZE)
    ax.plot(positive.sparsity, positive[column], "o-")
    ax.axvspan(*GOLDILOCKS, color="tab:green", alpha=0.12)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(sparsity_label(metrics))
    ax.set_ylabel(column.replace("penalty_loss", penalty_name(metrics)).replace("_", " "))
    ax.set_title(LOSS_TITLES[column].format(penalty=penalty_name(metrics)))
    ax.grid(alpha=0.3)
    return fig


def standardized_loss_figure(
    metrics: pd.DataFrame, column: Literal["std_log_reconstruction", "std_log_penalty", "ssll"],
) -> Figure:
    """Figures 7–9: a standardized log loss, or SSLL (their sum), over the grid."""
    return _grid_figure(metrics, column, STANDARDIZED_TITLES[column].format(penalty=penalty_name(metrics)),
                        cmap="coolwarm")


def mmcs_with_larger_figure(metrics: pd.DataFrame) -> Figure:
    """Figure 10: MMCS between each dictionary and the larger ones of the same α (blank: the largest size)."""
    return _grid_figure(metrics, "mmcs_with_larger", "Fig. 10: MMCS with larger dictionaries", vmin=0, vmax=1)


def mmcs_with_next_larger_figure(metrics: pd.DataFrame) -> Figure:
    """Appendix to Figure 10: MMCS between each dictionary and the next larger one of the same α, as the authors'
    public code computes it (blank: the largest size)."""
    return _grid_figure(metrics, "mmcs_with_next_larger", "Fig. 10, authors' code: MMCS with the next larger "
                        "dictionary", vmin=0, vmax=1)


def training_curves_figure(history: pd.DataFrame) -> Figure:
    """Training reconstruction and penalty (L1) losses at J = G, one line per sparsity value (log y)."""
    fig, axes = new_figure((10, 3.6), 1, 2, sharex=True)
    curves = history[np.isclose(history.dict_ratio, 1.0)]
    symbol = sparsity_label(history).split()[-1]  # α, k or λ
    for alpha, group in curves.groupby("sparsity"):
        axes[0].plot(group.step, group.reconstruction_loss, label=f"{symbol} = {alpha:.3g}")
        # log scale: clip the L1 loss of a dictionary that switched off every latent
        axes[1].plot(group.step, group.penalty_loss.clip(lower=1e-12), label=f"{symbol} = {alpha:.3g}")
    for ax, label in zip(axes, ["reconstruction loss", penalty_name(history)]):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Training losses at J = G (training batches)")
    return fig


def recovery_by_frequency_figure(metrics: pd.DataFrame, recovery: pd.DataFrame) -> Figure:
    """MMCS within eighths of the features ordered by frequency, for each dictionary size at its best α."""
    best = metrics.loc[metrics.groupby("dict_ratio").mmcs.idxmax(), ["dict_ratio", "sparsity"]]
    symbol = sparsity_label(metrics).split()[-1]
    fig, ax = new_figure((6, 3.8))
    for ratio, alpha in best.itertuples(index=False):
        rows = recovery[np.isclose(recovery.dict_ratio, ratio) & np.isclose(recovery.sparsity, alpha)]
        ax.plot(rows.frequency_group, rows.mmcs, "o-", label=f"J/G = {ratio:g} ({symbol} = {alpha:.3g})")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_xlabel("feature group by frequency (0 = most frequent)")
    ax.set_ylabel("MMCS within the group")
    ax.set_title("Recovery of ground-truth features by frequency")
    return fig
