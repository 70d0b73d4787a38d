"""The scorecard: every experiment's claims in one table (Markdown for the repo, HTML for the report).

Each claim falls in one outcome: passed, failed by non-replication (we followed the method and the result
differs), failed at this tier's scale (a stated, measured limit), open, or untestable here. The totals count the
papers' own claims per experiment and overall; the project's secondary claims are counted apart.
"""

from __future__ import annotations

import html
from pathlib import Path

from superposition.claims import outcome, read_claims, verdict_cell
from superposition.io import atomic_write_text
from superposition.markdown import markdown_table

__all__ = ["OUTCOMES", "scorecard_rows", "outcome_counts", "scorecard_markdown", "scorecard_html", "write_scorecard"]

_HEADER = ("experiment", "claim", "source", "paper", "ours", "verdict")
OUTCOMES = ("passed", "non_replication", "scale_limited", "open", "untestable")
_OUTCOME_HEADER = ("passed", "failed: non-replication", "failed: scale of this tier", "open", "untestable")
_COLOURS = {"passed": "#d8f0d8", "non_replication": "#f6d5d5", "scale_limited": "#fbe8cc", "open": "#f0e0f6",
            "untestable": "#eeeeee"}


def _claims(claims_files: list[Path]) -> list[tuple[str, dict]]:
    return [(payload["experiment"], claim) for payload in map(read_claims, claims_files)
            for claim in payload["claims"]]


def scorecard_rows(claims_files: list[Path], secondary: bool = False) -> list[tuple[str, ...]]:
    """One row per claim (the papers' own, or the secondary ones): experiment, claim id, source, paper value, our
    measured summary, verdict (with the diagnosis of a failure)."""
    return [(experiment, claim["id"], claim["source"], claim["paper_value"], claim["measured_summary"],
             verdict_cell(claim)) for experiment, claim in _claims(claims_files)
            if bool(claim.get("secondary")) == secondary]


def outcome_counts(claims_files: list[Path], secondary: bool = False) -> dict[str, dict[str, int]]:
    """experiment (and "all") -> outcome -> number of claims, over the papers' own claims (or the secondary ones)."""
    counts: dict[str, dict[str, int]] = {}
    for experiment, claim in _claims(claims_files):
        if bool(claim.get("secondary")) != secondary:
            continue
        for key in (experiment, "all"):
            counts.setdefault(key, dict.fromkeys(OUTCOMES, 0))[outcome(claim)] += 1
    if "all" in counts:
        counts["all"] = counts.pop("all")  # last
    return counts


def _totals_table(counts: dict[str, dict[str, int]]) -> str:
    rows = [(name if name != "all" else "**all**", *map(str, values.values())) for name, values in counts.items()]
    return markdown_table(("experiment", *_OUTCOME_HEADER), rows)


def _headline(counts: dict[str, dict[str, int]], what: str = "claims") -> str:
    total = counts.get("all", dict.fromkeys(OUTCOMES, 0))
    return (f"{total['passed']} of {sum(total.values())} {what} pass; failed by non-replication "
            f"{total['non_replication']}, at the scale of this tier {total['scale_limited']}, open {total['open']}; "
            f"untestable {total['untestable']}.")


def scorecard_markdown(claims_files: list[Path]) -> str:
    """The scorecard: outcome totals per experiment and overall, then every claim."""
    counts, secondary = outcome_counts(claims_files), outcome_counts(claims_files, secondary=True)
    parts = ["# Scorecard", "", _headline(counts), "", _totals_table(counts)]
    parts += ["", markdown_table(_HEADER, scorecard_rows(claims_files))]
    if secondary:
        parts += ["", "## Secondary claims", "",
                  "Other papers' statements tested on an experiment's data; not counted in the totals above.", "",
                  _headline(secondary, "secondary claims"), "", _totals_table(secondary), "", markdown_table(_HEADER, scorecard_rows(claims_files, secondary=True))]
    return "\n".join(parts) + "\n"


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]], colours: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join((f"<tr style='background:{colours[i]}'>" if colours else "<tr>")
                   + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for i, row in enumerate(rows))
    return (f"<table border='1' cellpadding='4' style='border-collapse:collapse'><tr>{head}</tr>{body}</table>")


def scorecard_html(claims_files: list[Path]) -> str:
    """The scorecard as a small self-contained HTML page (used in the Snakemake report)."""
    counts = outcome_counts(claims_files)
    totals = [(name, *map(str, values.values())) for name, values in counts.items()]
    claims = [(e, claim) for e, claim in _claims(claims_files) if not claim.get("secondary")]
    colours = [_COLOURS[outcome(claim)] for _, claim in claims]
    return (f"<html><head><meta charset='utf-8'><title>Scorecard</title></head><body><h1>Scorecard</h1>"
            f"<p>{html.escape(_headline(counts))}</p>{_html_table(('experiment', *_OUTCOME_HEADER), totals)}"
            f"<h2>Claims</h2>{_html_table(_HEADER, scorecard_rows(claims_files), colours)}</body></html>\n")


def write_scorecard(claims_files: list[Path], markdown: Path, html_path: Path) -> None:
    """Write the Markdown and HTML scorecards."""
    atomic_write_text(markdown, scorecard_markdown(claims_files))
    atomic_write_text(html_path, scorecard_html(claims_files))
