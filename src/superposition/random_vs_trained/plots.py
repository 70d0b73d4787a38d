"""Figures of `random_vs_trained`: metrics by site per variant (the paper's per-layer plots), AUROC distributions,
token entropy, the toy models' Pareto curves and the training curves; top-context tables as Markdown.

Every function takes the tables the evaluation stage writes (metrics.csv, latents.csv, toy.csv, metrics.json,
top_contexts.json) and returns a Figure or a string.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superposition.markdown import markdown_table
from superposition.plots import empty_panel, new_figure

__all__ = ["VARIANT_LABELS", "metrics_by_site_figure", "auroc_figure", "entropy_figure", "toy_pareto_figure",
           "training_curves_figure", "top_contexts_markdown"]

VARIANT_LABELS = {"trained": "trained", "rerandomised": "re-randomised incl. emb.",
                  "rerandomised_no_embeddings": "re-randomised excl. emb.", "step0": "step 0", "control": "control",
                  "random_embedding_table": "random embedding table"}
_METRICS = (("fraction_variance_explained", "explained variance (1 − FVU)"),
            ("cosine_similarity", "cosine similarity of x and x̂"), ("l0", "L0"), ("l1", "L1 (scaled units)"),
            ("dead_fraction", "dead fraction (held out)"))
_TOY_LABELS = {"sparse": "sparse superposed", "sparse_mlp": "sparse → random MLP", "gaussian": "Gaussian",
               "gaussian_mlp": "Gaussian → random MLP"}


def _variants(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table.variant))


def _sites(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table.site))


def _by_site(ax, table: pd.DataFrame, column: str, ylabel: str) -> None:
    sites = _sites(table)
    for variant in _variants(table):
        part = table[table.variant == variant].set_index("site").reindex(sites)
        ax.plot(range(len(sites)), part[column].astype(float), "o-", label=VARIANT_LABELS.get(variant, variant))
    ax.set_xticks(range(len(sites)), sites)
    ax.set_xlabel("site")
    ax.set_ylabel(ylabel)


def metrics_by_site_figure(table: pd.DataFrame) -> Figure:
    """The SAE metrics against site (depth), one line per variant (the paper's per-layer figures)."""
    fig, axes = new_figure((15, 7.5), 2, 3)
    for ax, (column, label) in zip(axes.flat, _METRICS):
        _by_site(ax, table, column, label)
        ax.set_title(label)
    axes.flat[0].legend(fontsize=8)
    empty_panel(axes.flat[-1], "L0 is k for every TopK SAE;\nL1 is in each cell's scaled units (E‖x‖² = d)")
    fig.tight_layout()
    return fig


def auroc_figure(latents: pd.DataFrame) -> Figure:
    """Distributions of the per-latent detection and fuzzing AUROC (offline proxy), per variant and site."""
    fig, axes = new_figure((14, 5), 1, 2)
    scored = latents.dropna(subset=["detection_auroc"])
    variants, sites = _variants(latents), _sites(latents)
    width = 0.8 / max(len(variants), 1)
    for ax, column, title in ((axes[0], "detection_auroc", "detection AUROC"),
                              (axes[1], "fuzzing_auroc", "fuzzing AUROC")):
        for offset, variant in enumerate(variants):
            data, positions = [], []
            for index, site in enumerate(sites):
                values = scored[(scored.variant == variant) & (scored.site == site)][column].dropna().to_numpy()
                if len(values):
                    data.append(values)
                    positions.append(index - 0.4 + (offset + 0.5) * width)
            if data:
                parts = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True,
                                   manage_ticks=False, showfliers=False)
                colour = f"C{offset}"
                for box in parts["boxes"]:
                    box.set_facecolor(colour)
                    box.set_alpha(0.6)
                ax.plot([], [], "s", color=colour, label=VARIANT_LABELS.get(variant, variant))
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_xticks(range(len(sites)), sites)
        ax.set_xlabel("site")
        ax.set_ylabel(f"{title} per latent")
        ax.set_title(f"{title} (token-profile proxy)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def entropy_figure(table: pd.DataFrame, latents: pd.DataFrame, min_activations: int) -> Figure:
    """Mean token entropy per variant and site (left) and its distribution over latents at the last site (right)."""
    fig, axes = new_figure((13, 4.5), 1, 2)
    _by_site(axes[0], table, "token_entropy", "mean token entropy (nats)")
    axes[0].set_title("token-distribution entropy of latents")
    axes[0].legend(fontsize=8)
    last = _sites(table)[-1]
    kept = latents[(latents.site == last) & (latents.activations >= min_activations)]
    bins = np.linspace(0, max(float(kept.entropy.max()) if len(kept) else 1.0, 1e-3), 30)
    for variant in _variants(table):
        values = kept[kept.variant == variant].entropy.dropna()
        axes[1].hist(values, bins=bins, histtype="step", label=VARIANT_LABELS.get(variant, variant))
    axes[1].set_xlabel("token entropy (nats)")
    axes[1].set_ylabel("latents")
    axes[1].set_title(f"distribution at {last}")
    fig.tight_layout()
    return fig


def toy_pareto_figure(toy: pd.DataFrame) -> Figure:
    """Section 4: explained variance against L0 (k sweep), (a) sparse data and (b) Gaussian data, each beside its
    image through the random MLP."""
    fig, axes = new_figure((12, 4.5), 1, 2)
    for ax, pair, title in ((axes[0], ("sparse", "sparse_mlp"), "(a) sparse superposed input"),
                            (axes[1], ("gaussian", "gaussian_mlp"), "(b) dense Gaussian input")):
        for dataset, style in zip(pair, ("o-", "s--")):
            part = toy[toy.dataset == dataset].sort_values("l0")
            ax.plot(part.l0, part.fraction_variance_explained, style, label=_TOY_LABELS[dataset])
        ax.set_xscale("log")
        ax.set_xlabel("L0 (active latents per sample)")
        ax.set_ylabel("explained variance (1 − FVU)")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_curves_figure(summary: dict) -> Figure:
    """Training loss (normalised MSE) against step, one line per cell, one panel per site."""
    cells = list(summary["history_loss"])
    sites = list(dict.fromkeys(cell.split("/")[1] for cell in cells))
    fig, axes = new_figure((4 * len(sites), 3.6), 1, len(sites), squeeze=False)
    for ax, site in zip(axes[0], sites):
        for cell in cells:
            variant, cell_site = cell.split("/")
            if cell_site == site:
                ax.plot(summary["history_steps"], summary["history_loss"][cell],
                        label=VARIANT_LABELS.get(variant, variant))
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("normalised MSE")
        ax.set_title(site)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def top_contexts_markdown(contexts: dict, per_cell: int = 2) -> str:
    """Top-context tables: for the first ``per_cell`` scored latents of each cell, the explanation, AUROCs and
    the top sentence (tokens at ≥ 0.3 of its peak in brackets)."""
    rows = []
    for cell, latents in contexts.items():
        for entry in latents[:per_cell]:
            top = entry["top_windows"][0] if entry["top_windows"] else ""
            detection = "—" if entry["detection_auroc"] is None else f"{entry['detection_auroc']:.2f}"
            fuzzing = "—" if entry["fuzzing_auroc"] is None else f"{entry['fuzzing_auroc']:.2f}"
            rows.append([cell, str(entry["latent"]), entry["explanation"][:60], detection, fuzzing, top[:120]])
    return markdown_table(["cell", "latent", "explanation (token profile)", "detection", "fuzzing",
                           "top sentence"], rows)
