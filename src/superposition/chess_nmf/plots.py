"""Figures of `chess_nmf`: each a library function returning a matplotlib Figure (the stage saves them as PNG).

Board figures follow the survey's Figure 1a: a factor's 64 coefficients shaded in green on the board (darker =
larger), with the pieces drawn on top. Boards are drawn as the network sees them, from the side to move:
its pieces (white glyphs) start at the bottom, and files/ranks are labelled in that frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chess
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from superposition.chess_nmf.encoding import oriented  # noqa: E402

__all__ = ["plot_factor_boards", "plot_variance_explained", "plot_nestedness", "plot_concept_matches",
           "plot_training", "save_figure"]

_GLYPHS = {"K": "♔", "Q": "♕", "R": "♖", "B": "♗", "N": "♘", "P": "♙", "k": "♚", "q": "♛", "r": "♜", "b": "♝",
           "n": "♞", "p": "♟"}


def _board(ax, fen: str, values: np.ndarray, vmax: float) -> None:
    view = oriented(chess.Board(fen))
    grid = values.reshape(8, 8)  # [rank, file] in the side-to-move frame
    ax.imshow(grid, cmap="Greens", vmin=0, vmax=vmax if vmax > 0 else 1, origin="lower", extent=(-0.5, 7.5, -0.5, 7.5))
    for square, piece in view.piece_map().items():
        ax.text(chess.square_file(square), chess.square_rank(square), _GLYPHS[piece.symbol()], ha="center",
                va="center", fontsize=15, color="black")
    ax.set_xticks(range(8), list("abcdefgh"))
    ax.set_yticks(range(8), [str(r) for r in range(1, 9)])
    ax.set_xlabel("file (side to move's view)")
    ax.set_ylabel("rank")
    for edge in np.arange(-0.5, 8, 1):
        ax.axhline(edge, color="0.7", lw=0.4)
        ax.axvline(edge, color="0.7", lw=0.4)


def plot_factor_boards(fens: list[str], coefficients: np.ndarray, title: str,
                       subtitles: list[str] | None = None) -> Figure:
    """One board per position: coefficients (positions, 64) of one factor shaded, pieces on top."""
    n = len(fens)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.6), squeeze=False)
    vmax = float(np.max(coefficients)) if coefficients.size else 1.0
    for i, (ax, fen) in enumerate(zip(axes[0], fens)):
        _board(ax, fen, np.clip(coefficients[i], 0, None), vmax)
        ax.set_title(subtitles[i] if subtitles else f"position {i}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_variance_explained(sweeps: dict[str, dict[str, Any]]) -> Figure:
    """FVE against rank k for NMF, SVD and PCA; ``sweeps`` maps a label (network, block) → decomposition metrics."""
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"nmf": "-o", "svd": "--s", "pca": ":^"}
    for label, metrics in sorted(sweeps.items()):
        for method, style in styles.items():
            ks = sorted(int(k) for k in metrics[method])
            ax.plot(ks, [metrics[method][str(k)]["fraction_variance_explained"] for k in ks], style,
                    label=f"{method.upper()} ({label})", ms=4)
    ax.set_xlabel("rank k (factors)")
    ax.set_ylabel("fraction of variance explained")
    ax.set_title("Fraction of variance explained by rank")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_nestedness(sweeps: dict[str, dict[str, Any]]) -> Figure:
    """Overlap (Hungarian mean |cos|) of the factors at k with those at the next k, NMF vs SVD."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, metrics in sorted(sweeps.items()):
        for method, style in (("nmf", "-o"), ("svd", "--s")):
            pairs = metrics["nestedness"][method]
            ax.plot([f"{p['k']}→{p['k_next']}" for p in pairs], [p["hungarian"] for p in pairs], style,
                    label=f"{method.upper()} ({label})", ms=4)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("ranks compared (k → next k)")
    ax.set_ylabel("factor overlap (matched mean |cosine|)")
    ax.set_title("Nestedness: SVD keeps its factors, NMF need not")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_concept_matches(concepts: list[str], matches: dict[str, list[float]]) -> Figure:
    """Best |r| per concept for each labelled method (e.g. 'NMF trained', 'SVD random')."""
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(matches), 1)
    x = np.arange(len(concepts))
    for i, (label, values) in enumerate(matches.items()):
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=label)
    ax.set_xticks(x, concepts, rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("concept")
    ax.set_ylabel("best |Pearson r| over factors")
    ax.set_title("How well the best factor matches each concept")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_training(history: list[dict[str, float]]) -> Figure:
    """Policy cross-entropy and value MSE against training step."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    steps = [h["step"] for h in history]
    left.plot(steps, [h["policy_loss"] for h in history])
    left.set_xlabel("step")
    left.set_ylabel("policy cross-entropy")
    right.plot(steps, [h["value_loss"] for h in history], color="C1")
    right.set_xlabel("step")
    right.set_ylabel("value MSE")
    fig.suptitle("Training on Stockfish labels")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path | str) -> None:
    """Save as PNG (atomically: temporary file, then rename) and close."""
    from superposition.io import atomic_path

    with atomic_path(path) as temporary:
        fig.savefig(temporary, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
