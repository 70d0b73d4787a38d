"""Figures of experiment `feature_sparsity`: Figures 1–4 and 9–10 and the ablations of Figures 5–8.

Every function takes the loaded payloads of :mod:`superposition.feature_sparsity.results` and returns a Figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from superposition.feature_sparsity.results import METRIC_NAMES, dataset_label, separation_rows, sparse_rows
from superposition.plots import empty_panel, new_figure

__all__ = [
    "true_sparsity_figure",
    "separation_figure",
    "n0_final_loss_figure",
    "ablations_figure",
    "embeddings_figure",
    "layers_figure",
]

SPARSE_COLOUR, CONTROL_COLOUR = "tab:blue", "tab:red"
EMBEDDING_TITLES = {"normalized_loss": "Figure 2: token embeddings, normalized loss",
                    "s1": "Figure 9: token embeddings, average coefficient norm"}
# value -> (title, y label, scale, dashed target line or None)
LAYER_PANELS = {
    "normalized_loss": ("Figure 3a: sparsity by layer, normalized loss", METRIC_NAMES["normalized_loss"], 1.0, None),
    "s1": ("Figure 10: sparsity by layer, average coefficient norm", METRIC_NAMES["s1"], 1.0, None),
    "variance_explained": ("Figure 3b: variance explained by the decomposition", "variance explained (%)", 100.0,
                           98.0),
}


def _tracking(ax: Axes, payload: dict[str, Any], metrics: Sequence[str], reference: bool = True) -> None:
    """Metric values against the true sparsity a/2 of the sparse linear datasets (log-log), with y = x."""
    rows = sparse_rows(payload)
    truth = np.array([r["true_sparsity"] for r in rows])
    values = []
    for metric in metrics:
        y = np.array([r[metric] for r in rows])
        values.append(y)
        line, = ax.plot(truth, y, "o-", label=METRIC_NAMES[metric])
        reference_rows = [r for r in rows if (r.get("true_dictionary") or {}).get(metric) is not None]
        if reference_rows:  # the same metric under the generator's own features and coefficients
            ax.plot([r["true_sparsity"] for r in reference_rows], [r["true_dictionary"][metric] for r in reference_rows],
                    "s:", color=line.get_color(), alpha=0.7, label=METRIC_NAMES[metric] + ", true decomposition")
    span = np.concatenate([truth, *values]) if len(truth) else truth
    span = span[np.isfinite(span) & (span > 0)]  # the reference line lives on log axes
    if reference and len(span):
        lims = [span.min() / 1.3, span.max() * 1.3]
        ax.plot(lims, lims, "k--", lw=1, label="y = x (the true sparsity)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("true sparsity a/2 (log scale)")
    ax.set_ylabel("metric value (log scale)")
    ax.grid(alpha=0.3, which="both")


def _separation(ax: Axes, payload: dict[str, Any], metrics: Sequence[str], title: str | None = None) -> None:
    """Bars of each metric for the sparse linear datasets (blue) and the controls (red), as Figure 1b."""
    sparse, controls = separation_rows(payload)
    rows = sparse + controls
    colours = [SPARSE_COLOUR] * len(sparse) + [CONTROL_COLOUR] * len(controls)
    width = 0.8 / len(metrics)
    hatches = ["", "//", "..", "xx"]  # tell the metrics apart when colour already tells the groups apart
    for i, metric in enumerate(metrics):
        xs = np.arange(len(rows)) + (i - (len(metrics) - 1) / 2) * width
        values = [r[metric] for r in rows]
        ax.bar(xs, values, width=width, color=colours, hatch=hatches[i], edgecolor="white" if hatches[i] else None,
               label=METRIC_NAMES[metric])
        for x, v in zip(xs, values):
            ax.text(x, v, f"{v:.3g}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)), [dataset_label(r) for r in rows], rotation=30, ha="right")
    ax.set_ylabel(" / ".join(METRIC_NAMES[m] for m in metrics))
    ax.set_title(title or " / ".join(METRIC_NAMES[m] for m in metrics))
    ax.grid(alpha=0.3, axis="y")
    if len(metrics) > 1:
        ax.legend(fontsize=7)


def true_sparsity_figure(main: dict[str, Any]) -> Figure:
    """Figure 1a: each metric against the true sparsity a/2 of the main setting's sparse linear data."""
    fig, axes = new_figure((11, 9), 2, 2)
    for ax, metric in zip(axes.flat, ["n0", "final_loss", "s1", "normalized_loss"]):
        # the final loss is not scale-invariant: y = x means nothing for it
        _tracking(ax, main, [metric], reference=metric != "final_loss")
        ax.set_title(METRIC_NAMES[metric])
        ax.set_ylabel(METRIC_NAMES[metric] + " (log scale)")
        ax.legend(fontsize=8)
    fig.suptitle(f"Figure 1a, main setting (d = {main['d']}, dictionary {main['dict_ratio']}d, "
                 f"σ = {main['sigma']:g})")
    fig.tight_layout()
    return fig


def _separation_pair(main: dict[str, Any], metrics: tuple[str, str], title: str) -> Figure:
    fig, axes = new_figure((12, 4.5), 1, 2)
    for ax, metric in zip(axes, metrics):
        _separation(ax, main, [metric])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def separation_figure(main: dict[str, Any]) -> Figure:
    """Figure 1b: S₁ and L_norm of the sparse linear datasets against the controls (main setting)."""
    return _separation_pair(main, ("s1", "normalized_loss"),
                            "Figure 1b, main setting: sparse linear (blue) vs controls (red)")


def n0_final_loss_figure(main: dict[str, Any]) -> Figure:
    """Figure 4: N₀ and the final loss of the sparse linear datasets against the controls (main setting)."""
    return _separation_pair(main, ("n0", "final_loss"),
                            "Figure 4, main setting: sparse linear (blue) vs controls (red)")


def ablations_figure(main: dict[str, Any], ablations: dict[str, dict[str, Any]]) -> Figure:
    """Figures 5–8: per ablation, S₁ and L_norm against a/2 (grey: the main setting) and against the controls."""
    if not ablations:
        fig, ax = new_figure((6, 2))
        empty_panel(ax, "no ablations in this tier\n(only the main synthetic setting was run)")
        fig.tight_layout()
        return fig
    fig, axes = new_figure((13, 4.5 * len(ablations)), len(ablations), 2, squeeze=False)
    reference = sparse_rows(main)
    for (name, payload), (left, right) in zip(ablations.items(), axes):
        left.plot([r["true_sparsity"] for r in reference], [r["normalized_loss"] for r in reference], "-",
                  color="grey", alpha=0.5, lw=2, label="main setting: " + METRIC_NAMES["normalized_loss"])
        _tracking(left, payload, ["s1", "normalized_loss"])
        left.legend(fontsize=7)
        left.set_title(f"{name} ({payload['figure']}): d = {payload['d']}, dictionary {payload['dict_ratio']}d, "
                       f"σ = {payload['sigma']:g}, {payload['features_per_dim']}d features", fontsize=9)
        _separation(right, payload, ["s1", "normalized_loss"], title=f"{name}: sparse linear (blue) vs controls (red)")
    fig.tight_layout()
    return fig


def embeddings_figure(embeddings: list[dict[str, Any]], metric: Literal["normalized_loss", "s1"]) -> Figure:
    """Figures 2 and 9: a metric of each model's token embeddings (dots) and its Gaussian (crosses) against d."""
    fig, ax = new_figure((7, 4.5))
    if not embeddings:
        empty_panel(ax, "no embedding results")
    else:
        seen: dict[int, list[str]] = {}
        for i, payload in enumerate(embeddings):
            rows = {r["dataset"]: r for r in payload["rows"]}
            models_of_d = seen.setdefault(payload["d"], [])
            models_of_d.append(payload["model"])
            x = payload["d"] * 1.04 ** (len(models_of_d) - 1)  # spread models of equal d slightly along x
            colour = colormaps["tab10"](i % 10)
            ax.plot(x, rows["embeddings"][metric], "o", ms=9, color=colour,
                    label=f"{payload['model']} (d = {payload['d']})")
            ax.annotate(payload["model"], (x, rows["embeddings"][metric]), textcoords="offset points", xytext=(6, 4),
                        fontsize=8)
            if "gaussian" in rows:
                ax.plot(x, rows["gaussian"][metric], "x", ms=9, mew=2, color=CONTROL_COLOUR,
                        label="Gaussian of the same size" if i == 0 else None)
        ds = sorted({p["d"] for p in embeddings})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ds, [str(d) for d in ds])
        ax.minorticks_off()
        ax.set_xlim(min(ds) / 1.4, max(ds) * 1.4)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    ax.set_xlabel("embedding size d (log scale)")
    ax.set_ylabel(METRIC_NAMES[metric])
    ax.set_title(EMBEDDING_TITLES[metric])
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def layers_figure(layers: list[dict[str, Any]],
                  value: Literal["normalized_loss", "s1", "variance_explained"]) -> Figure:
    """Figures 3a, 10 and 3b: a metric of every layer against depth, one line per model."""
    title, ylabel, scale, target = LAYER_PANELS[value]
    fig, ax = new_figure((7, 4.5))
    if not layers:
        empty_panel(ax, "no layer results")
    else:
        for payload in layers:
            rows = sorted(payload["rows"], key=lambda r: r["depth"])
            ax.plot([r["depth"] for r in rows], [scale * r[value] for r in rows], "o-",
                    label=f"{payload['model']} (d = {payload['d']}, λ = {payload['decompose_lambda']:g})")
        ax.set_xticks(sorted({r["depth"] for p in layers for r in p["rows"]}))
        if target is not None:
            ax.axhline(target, color="k", ls="--", lw=1, label=f"{target:g} %")
        ax.legend(fontsize=8)
    ax.set_xlabel("depth (0 = embedding layer)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
