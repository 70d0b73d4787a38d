"""Figures of experiment `tms`: the four core experiments of Toy Models of Superposition and training curves.

Every function takes loaded data (:mod:`superposition.tms.results`: trained stacks, the parts' analyses in
``metrics.json``) and returns a Figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from superposition.plots import new_figure
from superposition.tms.measures import FRACTION_TOLERANCE, FRACTIONS, share_near
from superposition.tms.model import ToyModelStack, TrainedToyModels

__all__ = [
    "feature_columns_figure",
    "sparsity_gram_figure",
    "sparsity_norms_figure",
    "phase_diagram_figure",
    "dimensions_per_feature_figure",
    "feature_dimensionality_figure",
    "training_curves_figure",
]

# Labels of superposition.tms.experiments.FRACTIONS, in the same order.
FRACTION_LABELS = ("1", "3/4", "2/3", "1/2", "2/5", "3/8")
PHASE_COLOURS = ListedColormap(["#4c72b0", "#dd8452", "#55a868"])  # not represented, dedicated, superposition


def feature_columns_figure(stack: ToyModelStack, kind: Literal["relu", "linear"]) -> Figure:
    """Experiment 1: each feature's column Wᵢ as an arrow in the plane, one panel per sparsity of ``kind``."""
    chosen = [i for i, key in enumerate(stack.keys) if key.startswith(kind + "/")]
    fig, axes = new_figure((2.6 * len(chosen), 2.9), 1, len(chosen), squeeze=False)
    colours = colormaps["viridis"](np.linspace(0, 0.9, stack.w.shape[1]))
    for ax, index in zip(axes[0], chosen):
        w = stack.w[index].numpy()  # (n, 2)
        ax.add_patch(Circle((0, 0), 1, fill=False, color="lightgrey"))
        for feature, (x, y) in enumerate(w):
            ax.annotate("", xy=(x, y), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="-|>", color=colours[feature], lw=1.5))
        lim = max(1.25, float(np.abs(w).max()) * 1.15)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(stack.keys[index].split("/")[1].replace("S=", "S = "))
    fig.suptitle(f"{kind} model: columns of W (n = {stack.w.shape[1]}, m = {stack.w.shape[2]})")
    return fig


def sparsity_gram_figure(stack: ToyModelStack, levels: list[dict[str, Any]]) -> Figure:
    """Experiment 2: WᵀW (feature × feature) with the bias b beside it, one panel per sparsity level."""
    fig, axes = new_figure((2.9 * len(levels), 3.2), 1, len(levels), squeeze=False)
    for index, (ax, level) in enumerate(zip(axes[0], levels)):
        w = stack.w[index]  # (n, m)
        gram = (w @ w.T).numpy()
        bias = stack.b[index].numpy()[:, None]
        # a blank (NaN) column keeps the bias apart from the Gram matrix
        ax.imshow(np.hstack([gram, np.full_like(bias, np.nan), bias]), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"S = {level['sparsity']:g}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("WᵀW (left block) and b (right column); colour scale −1 … 1")
    return fig


def sparsity_norms_figure(levels: list[dict[str, Any]]) -> Figure:
    """Experiment 2: ‖Wᵢ‖ per feature, coloured by how much it shares its direction, one panel per level."""
    fig, axes = new_figure((2.9 * len(levels), 3.6), 1, len(levels), sharey=True, squeeze=False)
    for ax, level in zip(axes[0], levels):
        norms = np.array(level["norms"])
        shared = np.clip(level["superposition"], 0, 1)
        ax.barh(np.arange(len(norms)), norms, color=colormaps["viridis"](shared))
        ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.set_title(f"S = {level['sparsity']:g}: {level['n_represented']} features")
        ax.invert_yaxis()
        ax.set_xlabel("‖Wᵢ‖")
    axes[0, 0].set_ylabel("feature (most important at the top)")
    fig.suptitle("Feature norms, coloured by superposition Σⱼ≠ᵢ (Ŵᵢ·Wⱼ)² (0 dark … ≥ 1 yellow); dotted: 0.5", y=1.06)
    return fig


def phase_diagram_figure(phase: dict[str, Any]) -> Figure:
    """Experiment 3: the phase of each (density, importance) cell, trained models beside the theory."""
    fig, axes = new_figure((11, 4.4), 1, 2, sharey=True)
    for ax, key, title in [(axes[0], "empirical", "trained models"), (axes[1], "theoretical", "theory")]:
        ax.imshow(np.array(phase[key]), origin="lower", cmap=PHASE_COLOURS, vmin=-0.5, vmax=2.5, aspect="auto")
        ax.set_xticks(range(len(phase["densities"])), [f"{v:.2g}" for v in phase["densities"]], rotation=45)
        ax.set_yticks(range(len(phase["relative_importances"])), [f"{v:.2g}" for v in phase["relative_importances"]])
        ax.set_xlabel("feature density 1 − S (log scale)")
        ax.set_title(title)
    axes[0].set_ylabel("relative importance r of the extra feature (log scale)")
    handles = [Rectangle((0, 0), 1, 1, color=PHASE_COLOURS(i)) for i in range(3)]
    fig.legend(handles, phase["phases"], loc="upper center", ncol=3, bbox_to_anchor=(0.5, -0.07), frameon=False)
    fig.suptitle(f"Phase diagram, n = 2, m = 1: agreement {phase['agreement']:.0%} of cells")
    return fig


def dimensions_per_feature_figure(dimensionality: dict[str, Any]) -> Figure:
    """Experiment 4: D* = m / ‖W‖²_F against 1 / (1 − S), with the paper's plateau at 1/2."""
    fig, ax = new_figure((5.5, 3.8))
    ax.plot(dimensionality["inverse_density"], dimensionality["d_star"], "o-")
    ax.axhline(0.5, color="grey", ls=":", label="1/2")
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)")
    ax.set_ylabel("D* = m / ‖W‖²_F")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Dimensions per feature")
    return fig


def feature_dimensionality_figure(dimensionality: dict[str, Any], seed: int = 0) -> Figure:
    """Experiment 4: every feature's Dᵢ against 1 / (1 − S), with the polytope fractions as lines."""
    x = np.array(dimensionality["inverse_density"])
    d_i = np.array(dimensionality["feature_dimensionality"])  # (levels, n)
    rng = np.random.default_rng(seed)
    fig, ax = new_figure((7, 4.5))
    for k in range(len(x)):
        jitter = np.exp(rng.uniform(-0.04, 0.04, d_i.shape[1]))  # spread a level's points so that lines show
        ax.scatter(x[k] * jitter, d_i[k], s=3, color="black", alpha=0.4)
    for fraction, label in zip(FRACTIONS, FRACTION_LABELS):
        ax.axhline(fraction, color="tab:purple", alpha=0.3)
        ax.text(x[-1] * 1.15, fraction, label, va="center", fontsize=8)
    ax.plot(x, dimensionality["d_star"], color="tab:blue", lw=1, label="D*")
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)")
    ax.set_ylabel("Dᵢ")
    ax.legend(loc="center left")
    share = share_near(d_i.ravel().tolist(), FRACTIONS, FRACTION_TOLERANCE)
    ax.set_title(f"Per-feature dimensionality: {share:.0%} within ±{FRACTION_TOLERANCE} of a line")
    return fig


def training_curves_figure(models: Mapping[str, TrainedToyModels]) -> Figure:
    """Mean training loss over each part's instances (log y)."""
    fig, ax = new_figure((6, 3.6))
    for part, trained in models.items():
        ax.plot(trained.history_steps.numpy(), trained.history_loss.mean(dim=1).numpy(), label=part)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("mean loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
