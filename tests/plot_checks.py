"""Checks shared by the figure tests: a figure saves as a valid PNG of the right size and carries its labels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests never open a window

import matplotlib.image  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from superposition.plots import SAVE_DPI, save_figure  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def panels(figure: Figure) -> list[tuple[str, str, str]]:
    """(x label, y label, title) of each plotting panel of ``figure``, colour bars left out."""
    return [(ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) for ax in figure.axes if ax.get_label() != "<colorbar>"]


def suptitle(figure: Figure) -> str:
    """The figure's overall title ('' if none)."""
    return figure._suptitle.get_text() if figure._suptitle is not None else ""


def check_figure(figure: Figure, path: Path, size: tuple[float, float], expected: list[tuple[str, str, str]],
                 title: str = "") -> None:
    """``figure`` is ``size`` inches with panels ``expected``; saved, it decodes as a PNG of its tight size."""
    assert isinstance(figure, Figure)
    assert tuple(figure.get_size_inches()) == pytest.approx(size)
    assert panels(figure) == expected
    assert suptitle(figure) == title
    save_figure(figure, path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)  # raises unless the file decodes
    height, width = image.shape[:2]
    # bbox_inches="tight": the saved image is the drawn content's box plus savefig's padding, at SAVE_DPI.
    figure.set_dpi(SAVE_DPI)  # text extents depend a little on the dpi: measure as savefig draws
    box = figure.get_tightbbox(FigureCanvasAgg(figure).get_renderer())
    pad = 2 * matplotlib.rcParams["savefig.pad_inches"]
    assert width == pytest.approx((box.width + pad) * SAVE_DPI, abs=4)
    assert height == pytest.approx((box.height + pad) * SAVE_DPI, abs=4)
    # and never far from the figure's own size (a stray artist would stretch the tight box)
    assert 0.6 * size[0] * SAVE_DPI < width < 1.4 * size[0] * SAVE_DPI
    assert 0.6 * size[1] * SAVE_DPI < height < 1.4 * size[1] * SAVE_DPI


def declared_figures(repo: Path, experiment: str) -> list[str]:
    """The figure names the experiment manifest declares as the report's outputs, in order."""
    from superposition.manifest import MANIFEST_FILE, load_manifest

    return list(load_manifest(repo / MANIFEST_FILE).stage(experiment).figures)


def notebook_figures(repo: Path, experiment: str) -> list[str]:
    """The names of the ``figures / "<name>.png"`` files the experiment's notebook saves, in order."""
    import json
    import re

    cells = json.loads((repo / "notebooks" / f"{experiment}.ipynb").read_text())["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return re.findall(r'figures / "(\w+)\.png"', code)
