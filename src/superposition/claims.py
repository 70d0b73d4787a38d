"""Checkable claims of a paper, measured by us: the record every experiment writes to ``claims.json``.

A claim pairs the paper's statement (with its source) and the fixed rule we test it with, written before we
look at results, with our measured value and the verdict. ``passed`` is ``None`` only when the configured
grid cannot test the rule (say, a smoke run without the L1 value the rule names); the note says why.
Thresholds live in each experiment's claims module next to the paper text they come from, never in config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from superposition.io import atomic_write_json, read_json
from superposition.markdown import markdown_table

__all__ = ["Claim", "write_claims", "read_claims", "verdict", "verdict_symbol", "CLAIMS_FORMAT", "untestable",
           "claims_table_markdown", "failed_claims", "differences_markdown", "failure_summary_markdown"]

CLAIMS_FORMAT = 1
_VERDICTS = {True: "pass", False: "FAIL", None: "n/a"}
_VERDICT_SYMBOLS = {True: "✅ pass", False: "❌ FAIL", None: "— untestable"}
_TABLE_HEADER = ("claim", "source", "paper", "rule", "ours", "verdict")


def verdict(passed: bool | None) -> str:
    """The word for a claim's outcome: pass, FAIL, or n/a (untestable here)."""
    return _VERDICTS[passed]


def verdict_symbol(passed: bool | None) -> str:
    """The verdict as the reports show it: ✅ pass, ❌ FAIL or — untestable."""
    return _VERDICT_SYMBOLS[passed]


@dataclass(frozen=True)
class Claim:
    """One checked claim.

    Attributes:
        id: stable identifier, unique within the experiment (``fig1_goldilocks``).
        statement: what the paper says, close to its words.
        source: where the paper says it (figure, section).
        paper_value: the paper's number or qualitative value, as text.
        rule: the fixed test we apply, in words.
        measured: our measured value(s), JSON-serialisable.
        measured_summary: a short human-readable form of ``measured`` for tables.
        passed: the verdict; None when this configuration cannot test the rule.
        note: why it failed or could not be tested, or an interpretation we had to make.
    """

    id: str
    statement: str
    source: str
    paper_value: str
    rule: str
    measured: Any
    measured_summary: str
    passed: bool | None
    note: str = ""


def untestable(fields: dict[str, Any], why: str) -> Claim:
    """A claim (``fields``: id, statement, source, paper_value, rule) that this configuration cannot test."""
    return Claim(**fields, measured=None, measured_summary="—", passed=None, note=f"untestable here: {why}")


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_claims(path: Path | str, experiment: str, paper: str, claims: list[Claim]) -> None:
    """Write ``claims.json`` for one experiment (atomically)."""
    ids = [claim.id for claim in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"claim ids repeat: {ids}")
    payload = {
        "format": CLAIMS_FORMAT,
        "experiment": experiment,
        "paper": paper,
        "n_claims": len(claims),
        "n_passed": sum(claim.passed is True for claim in claims),
        "claims": [_json_safe(asdict(claim)) for claim in claims],
    }
    atomic_write_json(path, payload)


def read_claims(path: Path | str) -> dict[str, Any]:
    """Read a ``claims.json`` written by :func:`write_claims`."""
    payload = read_json(path)
    if payload.get("format") != CLAIMS_FORMAT:
        raise ValueError(f"{path}: unknown claims format {payload.get('format')!r}")
    return payload


# --- rendering a claims.json payload for the reports -----------------------------------------------------


def claims_table_markdown(payload: dict[str, Any]) -> str:
    """The headline (how many pass) and one table row per claim of a ``claims.json`` payload, as Markdown."""
    rows = [(f"`{claim['id']}` {claim['statement']}", claim["source"], claim["paper_value"], claim["rule"],
             claim["measured_summary"], verdict_symbol(claim["passed"])) for claim in payload["claims"]]
    return (f"**{payload['n_passed']} of {payload['n_claims']} claims pass.**\n\n"
            + markdown_table(_TABLE_HEADER, rows))


def failed_claims(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims of a payload that failed (not the untestable ones)."""
    return [claim for claim in payload["claims"] if claim["passed"] is False]


def differences_markdown(payload: dict[str, Any], heading: str,
                         evidence: Callable[[str], str] = lambda claim_id: "") -> str:
    """``### heading``, then per failed claim: paper vs ours, ``evidence(id)`` and the note ('' if none failed)."""
    failed = failed_claims(payload)
    if not failed:
        return ""
    bullets = []
    for claim in failed:
        parts = [f"- **{claim['id']}**: paper: {claim['paper_value']}; ours: {claim['measured_summary']}.",
                 evidence(claim["id"]), claim["note"]]
        bullets.append(" ".join(part for part in parts if part))
    return f"### {heading}\n" + "\n".join(bullets)


def failure_summary_markdown(payload: dict[str, Any], context: str) -> str:
    """"Why claims fail here": each failed claim's measured value, then ``context`` ('' if none failed)."""
    failed = failed_claims(payload)
    if not failed:
        return ""
    return ("**Why claims fail here.** " + " ".join(f"`{c['id']}`: measured {c['measured_summary']}." for c in failed)
            + " " + context)
