"""Checkable claims of a paper, measured by us: the record every experiment writes to ``claims.json``.

A claim pairs the paper's statement (with its source) and the fixed rule we test it with, written before we
look at results, with our measured value and the verdict. ``passed`` is ``None`` only when the configured
grid cannot test the rule (say, a smoke run without the L1 value the rule names); the note says why.
Thresholds live in each experiment's claims module next to the paper text they come from, never in config.

Every failing claim carries a diagnosis, so that a reader can tell a non-replication from a limit of the run:

- ``non_replication``: we followed the paper's method and the result differs;
- ``scale_limited``: a stated, measured reason that this tier cannot show it (the paper tier is expected to);
- ``open``: not decided; the evidence then says which experiment would decide it and why it was not run.

``evidence`` names what in the report supports the diagnosis (a figure, table or appendix experiment) and says
why. A claim marked ``secondary`` tests another paper's statement on an experiment's data (e.g. the SAE
architectures of Gao et al. or Bussmann et al. on Sharkey et al.'s toy data): it names its own source, and
claims.json and the scorecard count it apart from the replicated paper's claims (``n_claims``/``n_passed`` are the
primary ones).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from superposition.io import atomic_write_json, read_json
from superposition.markdown import markdown_table

__all__ = ["Claim", "DIAGNOSES", "outcome", "write_claims", "read_claims", "verdict", "verdict_symbol", "verdict_cell",
           "CLAIMS_FORMAT", "untestable", "claims_table_markdown", "failed_claims", "diagnoses_markdown"]

CLAIMS_FORMAT = 1
DIAGNOSES = ("non_replication", "scale_limited", "open")
_VERDICTS = {True: "pass", False: "FAIL", None: "n/a"}
_VERDICT_SYMBOLS = {True: "✅ pass", False: "❌ FAIL", None: "— untestable"}
_TABLE_HEADER = ("claim", "source", "paper", "rule", "ours", "verdict")


def verdict(passed: bool | None) -> str:
    """The word for a claim's outcome: pass, FAIL, or n/a (untestable here)."""
    return _VERDICTS[passed]


def outcome(claim: dict[str, Any]) -> str:
    """The scorecard's category of a claim record: passed, non_replication, scale_limited, open or untestable."""
    if claim["passed"] is None:
        return "untestable"
    return "passed" if claim["passed"] else claim.get("diagnosis") or "open"


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
        note: why it could not be tested, or an interpretation we had to make.
        diagnosis: for a failure, one of :data:`DIAGNOSES` (module docstring); None otherwise.
        evidence: for a failure, what in the report supports the diagnosis, and why.
        secondary: a claim of another paper tested on this experiment's data; counted apart (see the module).
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
    diagnosis: str | None = None
    evidence: str = ""
    secondary: bool = False

    def diagnosed(self, diagnosis: str, evidence: str) -> "Claim":
        """This claim with a diagnosis and its evidence (kept only if it failed)."""
        if diagnosis not in DIAGNOSES:
            raise ValueError(f"unknown diagnosis {diagnosis!r}; choose one of {DIAGNOSES}")
        return replace(self, diagnosis=diagnosis, evidence=evidence) if self.passed is False else self


def untestable(fields: dict[str, Any], why: str) -> Claim:
    """A claim (``fields``: id, statement, source, paper_value, rule[, secondary]) that this configuration cannot
    test."""
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
    undiagnosed = [c.id for c in claims if c.passed is False and (c.diagnosis not in DIAGNOSES or not c.evidence)]
    if undiagnosed:
        raise ValueError(f"failing claims need a diagnosis ({', '.join(DIAGNOSES)}) and evidence: {undiagnosed}")
    primary = [claim for claim in claims if not claim.secondary]
    secondary = [claim for claim in claims if claim.secondary]
    payload = {
        "format": CLAIMS_FORMAT,
        "experiment": experiment,
        "paper": paper,
        "n_claims": len(primary),
        "n_passed": sum(claim.passed is True for claim in primary),
        "n_secondary": len(secondary),
        "n_secondary_passed": sum(claim.passed is True for claim in secondary),
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


_OUTCOME_LABELS = {"non_replication": "non-replication", "scale_limited": "limited by this tier's scale",
                   "open": "open"}


def verdict_cell(claim: dict[str, Any]) -> str:
    """The verdict as a table shows it, with the diagnosis of a failure (``❌ FAIL (non-replication)``)."""
    cell = verdict_symbol(claim["passed"])
    if claim["passed"] is False and claim.get("diagnosis"):
        cell += f" ({_OUTCOME_LABELS[claim['diagnosis']]})"
    return cell


def claims_table_markdown(payload: dict[str, Any], secondary: bool = False) -> str:
    """The headline (how many pass) and one table row per claim of a ``claims.json`` payload, as Markdown: the
    replicated paper's claims, or (``secondary``) the other papers' claims tested on this data ('' if none)."""
    claims = [claim for claim in payload["claims"] if claim.get("secondary", False) == secondary]
    if secondary and not claims:
        return ""
    rows = [(f"`{claim['id']}` {claim['statement']}", claim["source"], claim["paper_value"], claim["rule"],
             claim["measured_summary"] + (f" ({claim['note']})" if secondary and claim["note"] else ""),
             verdict_cell(claim)) for claim in claims]
    passed = sum(claim["passed"] is True for claim in claims)
    what = "secondary claims (not counted in the scorecard's totals)" if secondary else "claims"
    return f"**{passed} of {len(claims)} {what} pass.**\n\n" + markdown_table(_TABLE_HEADER, rows)


def failed_claims(payload: dict[str, Any], secondary: bool = False) -> list[dict[str, Any]]:
    """The replicated paper's claims (or the secondary ones) of a payload that failed (not the untestable ones)."""
    return [claim for claim in payload["claims"]
            if claim["passed"] is False and claim.get("secondary", False) == secondary]


def diagnoses_markdown(payload: dict[str, Any], heading: str = "Where we differ from the paper",
                       secondary: bool = False) -> str:
    """``### heading``, then per failed claim (the paper's, or the secondary ones): its diagnosis, paper vs ours,
    and the evidence ('' if none failed)."""
    failed = failed_claims(payload, secondary)
    if not failed:
        return ""
    bullets = [f"- **{claim['id']}** ({_OUTCOME_LABELS.get(claim.get('diagnosis'), 'not diagnosed')}): paper: "
               f"{claim['paper_value']}; ours: {claim['measured_summary']}. {claim.get('evidence', '')}".rstrip()
               for claim in failed]
    return f"### {heading}\n" + "\n".join(bullets)
