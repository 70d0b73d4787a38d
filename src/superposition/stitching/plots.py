"""Figures of experiment `stitching`; each takes the loaded results (:mod:`~.results`) and returns a Figure.

Text tables (the decompositions with their contexts) are in :func:`decompositions_markdown`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from superposition.plots import new_figure

__all__ = ["stitching_path_figure", "max_cosine_figure", "delta_mse_figure", "meta_fve_figure",
           "meta_matches_figure", "toy_directions_figure", "decompositions_markdown",
           "summary_markdown", "toy_markdown"]


def _pairs(table: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted({(int(s), int(l)) for s, l in zip(table["small"], table["large"])})


def stitching_path_figure(path: pd.DataFrame, family: pd.DataFrame) -> Figure:
    """MSE against the number of latents along each pair's stitching path, with the trained family's points."""
    fig, axes = new_figure((11, 4.5), 1, 2)
    colours = [f"C{i}" for i in range(10)]
    for index, (small, large) in enumerate(_pairs(path)):
        rows = path[(path["small"] == small) & (path["large"] == large)]
        axes[0].plot(rows.n_latents, rows.mse, color=colours[index % 10], lw=1, label=f"{small} → {large}")
        axes[1].plot(rows.l0, rows.mse, color=colours[index % 10], lw=1, label=f"{small} → {large}")
    for ax, column, label in ((axes[0], "dict_size", "latents in the (stitched) SAE"), (axes[1], "l0", "L0 (mean active latents)")):
        ax.scatter(family[column], family.mse, color="black", zorder=3, s=25, label="trained family")
        ax.set_xlabel(label)
        ax.set_ylabel("held-out MSE (per token)")
        ax.legend(fontsize=8)
    axes[0].set_xscale("log", base=2)
    axes[0].set_title("stitching paths: MSE against latents")
    axes[1].set_title("the same paths: MSE against L0")
    fig.tight_layout()
    return fig


def max_cosine_figure(latents: pd.DataFrame, threshold: float) -> Figure:
    """Histogram of each larger latent's maximum decoder cosine with the smaller SAE, θ marked; one panel a pair."""
    pairs = _pairs(latents)
    fig, axes = new_figure((3.6 * len(pairs), 3.6), 1, len(pairs), squeeze=False)
    bins = np.linspace(-0.1, 1.0, 45)
    for ax, (small, large) in zip(axes[0], pairs):
        rows = latents[(latents["small"] == small) & (latents["large"] == large)]
        ax.hist(rows.max_cosine, bins=bins, color="C0")
        ax.axvline(threshold, color="C3", ls="--", label=f"θ = {threshold:g}")
        ax.set_title(f"{small} → {large}: {rows.novel.mean():.1%} novel")
        ax.set_xlabel("max cosine with the smaller SAE")
        ax.set_ylabel("larger-SAE latents")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def delta_mse_figure(latents: pd.DataFrame, groups: pd.DataFrame) -> Figure:
    """ΔMSE of inserting each larger latent alone (novel vs reconstruction), and of each swapped group."""
    pairs = _pairs(latents)
    fig, axes = new_figure((3.6 * len(pairs), 3.8), 1, len(pairs), squeeze=False)
    for ax, (small, large) in zip(axes[0], pairs):
        rows = latents[(latents["small"] == small) & (latents["large"] == large)]
        swaps = groups[(groups["small"] == small) & (groups["large"] == large) & (groups["kind"] == "swap")]
        data = [rows[rows.novel].insertion_delta_mse, rows[~rows.novel].insertion_delta_mse, swaps.delta_mse]
        labels = ["novel\ninserted", "reconstruction\ninserted", "matched group\nswapped"]
        kept = [(d.to_numpy(), l) for d, l in zip(data, labels) if len(d)]
        ax.boxplot([d for d, _ in kept], tick_labels=[l for _, l in kept], showfliers=False)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{small} → {large}")
        ax.set_xlabel("")
        ax.set_ylabel("ΔMSE of the smaller SAE")
    fig.tight_layout()
    return fig


def meta_fve_figure(meta: dict) -> Figure:
    """Fraction of variance explained by the meta-SAE, on the decoder directions and on random unit vectors."""
    fig, ax = new_figure((4.5, 3.8))
    values = [meta["fve"], meta["random_fve"]]
    ax.bar(["decoder directions", "random unit vectors"], values, color=["C0", "C7"])
    ax.axhline(0.5547, color="C3", ls="--", label="paper: 55.47 %")
    for x, value in enumerate(values):
        ax.text(x, value + 0.01, f"{value:.1%}", ha="center")
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"{meta['latents']} directions, {meta['meta_latents']} meta-latents, k = {meta['k']}")
    ax.set_ylabel("fraction of variance explained")
    ax.set_title("meta-SAE")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def meta_matches_figure(meta: dict) -> Figure:
    """Each meta-latent's best cosine with the latents of each smaller SAE, against random unit vectors."""
    matches = meta["matches"]
    fig, axes = new_figure((3.6 * max(1, len(matches)), 3.6), 1, max(1, len(matches)), squeeze=False)
    bins = np.linspace(0, 1, 41)
    for ax, match in zip(axes[0], matches):
        ax.hist(match["meta_values"], bins=bins, alpha=0.7, label="meta-latents", color="C0")
        ax.hist(match["chance_values"], bins=bins, alpha=0.7, label="random unit vectors", color="C7")
        ax.set_title(f"vs the SAE of {match['dict_size']} latents")
        ax.set_xlabel("best cosine with its latents")
        ax.set_ylabel("meta-latents")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def toy_directions_figure(toy: dict) -> Figure:
    """|cosine| of each toy SAE's latents (rows) with the atomic and composed directions (columns), one column of
    panels per α; the bottom row is the meta-SAE on the larger SAE's decoder. The last column is the control: the
    exact compositions (the decoder Figure 2 draws for the larger SAE) and the same meta-SAE trained on them."""
    alphas = sorted({entry["l1"] for entry in toy["saes"]})
    fig, axes = new_figure((3.2 * (len(alphas) + 1), 9), 3, len(alphas) + 1, squeeze=False)
    names = [f"c{i}" for i in range(toy["colours"])] + [f"s{j}" for j in range(toy["shapes"])]
    names += [f"c{i}s{j}" for i in range(toy["colours"]) for j in range(toy["shapes"])]

    def directions_panel(ax, entry: dict, title: str) -> None:
        matrix = np.abs(np.hstack([np.array(entry["cos_atomic"]), np.array(entry["cos_composed"])]))
        ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_xlabel("atomic | composed directions", fontsize=8)
        ax.set_ylabel("latent")

    def meta_panel(ax, meta: dict, title: str) -> None:
        ax.imshow(np.abs(np.array(meta["cos_atomic"])), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_title(f"{title}: MMCS {meta['mmcs_atomic']:.2f}", fontsize=9)
        ax.set_xticks(range(toy["small"]), names[: toy["small"]], fontsize=7)
        ax.set_xlabel("atomic directions", fontsize=8)
        ax.set_ylabel("meta-latent")

    for column, alpha in enumerate(alphas):
        for row, role in enumerate(("small", "large")):
            entry = next(e for e in toy["saes"] if e["l1"] == alpha and e["role"] == role)
            directions_panel(axes[row, column], entry, f"{role} ({entry['dict_size']}), α {alpha:g}")
        meta = next(e for e in toy["saes"] if e["l1"] == alpha and e["role"] == "large")["meta"]
        meta_panel(axes[2, column], meta, f"meta-SAE, α {alpha:g}")
    axes[0, -1].axis("off")
    directions_panel(axes[1, -1], toy["cos_compositions"], f"control: the {toy['large']} exact compositions")
    meta_panel(axes[2, -1], toy["meta_on_compositions"], "meta-SAE on them")
    fig.tight_layout()
    return fig


def decompositions_markdown(meta: dict) -> str:
    """The decompositions of the shown latents, their top contexts and their meta-latents' descriptions."""
    lines = []
    for item in meta["decompositions"]:
        lines.append(f"#### Latent {item['latent']} of the SAE with {meta['latents']} latents")
        lines.append("Top contexts: " + "; ".join(f"`{c['text']}` ({c['activation']:.2f})" for c in item["contexts"]))
        lines.append("")
        lines.append(f"| meta-latent | weight | closest latent of the {meta['smallest_size']}-latent SAE (cosine) | "
                     "its top contexts | other latents using it |")
        lines.append("|---|---|---|---|---|")
        for part in item["meta_latents"]:
            contexts = "; ".join(f"`{c['text']}`" for c in part["small_contexts"]) or "—"
            lines.append(f"| {part['meta_latent']} | {part['weight']:.2f} | {part['closest_small_latent']} "
                         f"({part['closest_small_cosine']:.2f}) | {contexts} | "
                         f"{', '.join(str(i) for i in part['other_latents_using_it']) or '—'} |")
        lines.append("")
    return "\n".join(lines)


def summary_markdown(summary: dict, meta: dict) -> str:
    """The run at a glance: the family and, per pair, the split and the path's ends."""
    lines = [f"Activations: {summary['activations']['model']} {summary['activations']['site']} "
             f"(d = {summary['activations']['d']}), {summary['eval_tokens']} held-out tokens; BatchTopK k = "
             f"{summary['k']:g}, {summary['steps']} steps.", "",
             "| pair | novel | novel inserts lowering MSE | groups (swap / novel / removed) | MSE small → path end "
             "(large) | L0 small → large |", "|---|---|---|---|---|---|"]
    for p in summary["pairs"]:
        lowering = p["novel_inserts_lowering_mse"]
        lines.append(f"| {p['small']} → {p['large']} | {p['fraction_novel']:.1%} | "
                     f"{'—' if lowering is None else f'{lowering:.1%}'} | {p['groups']['swap']} / "
                     f"{p['groups']['novel']} / {p['groups']['removed']} | {p['small_mse']:.4f} → "
                     f"{p['path_end_mse']:.4f} ({p['large_mse']:.4f}) | {p['small_l0']:.1f} → {p['large_l0']:.1f} |")
    lines += ["", f"Meta-SAE: {meta['meta_latents']} meta-latents on {meta['latents']} decoder directions, "
              f"L0 {meta['l0']:.2f}, FVE {meta['fve']:.1%} (random unit vectors: {meta['random_fve']:.1%})."]
    return "\n".join(lines)


def toy_markdown(toy: dict) -> str:
    """The toy's MMCS table: each size and α against the atomic and composed directions, and the meta-SAE."""
    lines = ["| SAE | α | MMCS atomic | MMCS composed | relative error | meta-SAE MMCS atomic |", "|---|---|---|---|---|---|"]
    for e in toy["saes"]:
        meta = f"{e['meta']['mmcs_atomic']:.2f}" if "meta" in e else ""
        lines.append(f"| {e['role']} ({e['dict_size']}) | {e['l1']:g} | {e['mmcs_atomic']:.2f} | "
                     f"{e['mmcs_composed']:.2f} | {e['relative_error']:.3f} | {meta} |")
    exact, control = toy["cos_compositions"], toy["meta_on_compositions"]
    lines.append(f"| control: the exact compositions ({toy['large']}) | – | {exact['mmcs_atomic']:.2f} | "
                 f"{exact['mmcs_composed']:.2f} | – | {control['mmcs_atomic']:.2f} (FVE {control['fve']:.2f}, "
                 f"L0 {control['l0']:.2f}) |")
    return "\n".join(lines)
