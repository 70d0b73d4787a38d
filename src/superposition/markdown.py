"""Markdown tables for reports and the scorecard: escaped cells, rows of strings, DataFrames with formats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # claims and the scorecard import this module; they need no pandas
    import pandas as pd

__all__ = ["escape_cell", "markdown_table", "format_value", "frame_markdown"]


def escape_cell(text: Any) -> str:
    """``text`` made safe for one table cell: a ``|`` (as in the rule |S₁ − a/2|) or a newline would split it."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table of ``rows`` under ``header``; every cell escaped, no trailing newline."""
    lines = ["| " + " | ".join(escape_cell(cell) for cell in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def format_value(value: Any, spec: str = "{:.3g}") -> str:
    """A number with ``spec`` (floats only; ints and text as they are); None, NaN and inf as "—"."""
    if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value)):
        return "—"
    return spec.format(value) if isinstance(value, (float, np.floating)) else str(value)


def frame_markdown(frame: "pd.DataFrame", formats: Mapping[str, str] | None = None, default: str = "{:.3g}") -> str:
    """``frame`` as a Markdown table; ``formats`` maps a column to its format spec (others use ``default``)."""
    formats = formats or {}
    rows = [[format_value(value, formats.get(column, default)) for column, value in zip(frame.columns, row)]
            for row in frame.itertuples(index=False)]
    return markdown_table([str(column) for column in frame.columns], rows)
