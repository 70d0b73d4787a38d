"""Pieces shared by every experiment's figures: new figures, the sweep-grid heatmap (sparsity value × dictionary
size), empty panels, saving.

Figures are plain :class:`matplotlib.figure.Figure` objects, not registered with pyplot: a library that draws
them leaves no global state behind. A notebook shows them with :func:`show_figure` after ``%matplotlib inline``
(which registers IPython's PNG formatter for figures that pyplot does not manage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from superposition.io import atomic_path

__all__ = ["new_figure", "grid_matrix", "grid_heatmap", "empty_panel", "save_figure", "show_figure", "SAVE_DPI",
           "sparsity_label"]

SAVE_DPI = 130


def new_figure(figsize: tuple[float, float], nrows: int = 1, ncols: int = 1, **subplots: Any) -> tuple[Figure, Any]:
    """A figure of ``figsize`` inches and its axes (one Axes, or an array as ``Figure.subplots`` gives)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, **subplots)


def grid_matrix(table: pd.DataFrame, value: str) -> tuple[np.ndarray, list[float], list[float]]:
    """``value`` as a (n_ratios, n_sparsities) matrix, with the sorted ratios (rows) and sparsity values (columns)."""
    pivot = table.pivot_table(index="dict_ratio", columns="sparsity", values=value, dropna=False)
    pivot = pivot.sort_index().sort_index(axis=1)
    return pivot.to_numpy(dtype=float), pivot.index.tolist(), pivot.columns.tolist()


def sparsity_label(table: pd.DataFrame) -> str:
    """The axis label of a table's sparsity values: its architecture's hyper-parameter (e.g. "L1 coefficient α")."""
    from superposition.sae import get_architecture

    architectures = sorted(set(table["architecture"])) if "architecture" in table else ["relu_l1"]
    if len(architectures) != 1:
        return "sparsity value (" + ", ".join(f"{a}: {get_architecture(a).sparsity_label}" for a in architectures) + ")"
    return get_architecture(architectures[0]).sparsity_label


def _format_number(value: float) -> str:
    return f"{value:.3g}"


def grid_heatmap(
    ax: Axes, table: pd.DataFrame, value: str, title: str, *, cmap: str = "viridis",
    vmin: float | None = None, vmax: float | None = None, cap: float | None = None, annotate: bool = True,
    ratio_label: str = "dictionary size / G", fmt: str = "{:.2f}",
) -> ScalarMappable:
    """Draw ``value`` over the grid: sparsity value on x, dictionary ratio on y, on log-spaced cells (log-log).

    ``cap`` clips values from above (the report caps dead-neuron counts at 100); NaN cells stay blank.
    """
    matrix, ratios, sparsities = grid_matrix(table, value)
    if cap is not None:
        matrix = np.minimum(matrix, cap)
    image = ax.imshow(matrix, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(sparsities)), [_format_number(v) for v in sparsities], rotation=45)
    ax.set_yticks(range(len(ratios)), [_format_number(v) for v in ratios])
    ax.set_xlabel(f"{sparsity_label(table)} (log scale)")
    ax.set_ylabel(f"{ratio_label} (log scale)")
    ax.set_title(title)
    if annotate and matrix.size <= 400:
        for row in range(matrix.shape[0]):
            for column in range(matrix.shape[1]):
                cell = matrix[row, column]
                if np.isfinite(cell):
                    red, green, blue, _ = image.cmap(image.norm(cell))
                    # Dark text on light cells, light text on dark ones (relative luminance).
                    colour = "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 else "white"
                    ax.text(column, row, fmt.format(cell), ha="center", va="center", fontsize=7, color=colour)
    ax.figure.colorbar(image, ax=ax)
    return image


def empty_panel(ax: Axes, text: str) -> None:
    """Replace a panel by ``text`` (a tier that did not run what the panel shows)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def save_figure(figure: Figure, path: Path | str, dpi: int = SAVE_DPI) -> None:
    """Save ``figure`` as PNG atomically (creating its folder)."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi, bbox_inches="tight")


def show_figure(figure: Figure, path: Path | str) -> None:
    """Save ``figure`` to ``path`` (see :func:`save_figure`) and display it in the running notebook."""
    from IPython.display import display  # only notebooks call this: the rest of the library needs no IPython

    save_figure(figure, path)
    display(figure)
