"""The scorecard: every experiment's claims in one table (Markdown for the repo, HTML for the report)."""

from __future__ import annotations

import html
from pathlib import Path

from superposition.claims import read_claims, verdict
from superposition.io import atomic_write_text
from superposition.markdown import markdown_table

__all__ = ["scorecard_rows", "scorecard_markdown", "scorecard_html", "write_scorecard"]

_HEADER = ("experiment", "claim", "source", "paper", "ours", "verdict")


def scorecard_rows(claims_files: list[Path]) -> list[tuple[str, ...]]:
    """One row per claim: experiment, claim id, source, paper value, our measured summary, verdict."""
    rows = []
    for path in claims_files:
        payload = read_claims(path)
        for claim in payload["claims"]:
            rows.append((payload["experiment"], claim["id"], claim["source"], claim["paper_value"],
                         claim["measured_summary"], verdict(claim["passed"])))
    return rows


def _totals(rows: list[tuple[str, ...]]) -> str:
    passed = sum(row[-1] == "pass" for row in rows)
    failed = sum(row[-1] == "FAIL" for row in rows)
    return f"{passed} of {len(rows)} claims pass, {failed} fail, {len(rows) - passed - failed} untestable."


def scorecard_markdown(claims_files: list[Path]) -> str:
    """The scorecard as a Markdown table."""
    rows = scorecard_rows(claims_files)
    return "\n".join(["# Scorecard", "", _totals(rows), "", markdown_table(_HEADER, rows)]) + "\n"


def scorecard_html(claims_files: list[Path]) -> str:
    """The scorecard as a small self-contained HTML table (used in the Snakemake report)."""
    rows = scorecard_rows(claims_files)
    colour = {"pass": "#d8f0d8", "FAIL": "#f6d5d5", "n/a": "#eeeeee"}
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in _HEADER)
    body = "".join(
        f"<tr style='background:{colour[row[-1]]}'>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows)
    return (f"<html><head><meta charset='utf-8'><title>Scorecard</title></head><body><h1>Scorecard</h1>"
            f"<p>{html.escape(_totals(rows))}</p><table border='1' cellpadding='4' style='border-collapse:collapse'>"
            f"<tr>{head}</tr>{body}</table></body></html>\n")


def write_scorecard(claims_files: list[Path], markdown: Path, html_path: Path) -> None:
    """Write the Markdown and HTML scorecards."""
    atomic_write_text(markdown, scorecard_markdown(claims_files))
    atomic_write_text(html_path, scorecard_html(claims_files))
