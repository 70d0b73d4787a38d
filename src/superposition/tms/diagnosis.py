"""Evidence for the diagnosis of a failed `tms` claim, computed from this run's own analysis (it goes into
``claims.json`` beside the verdict, and the report shows it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from superposition.tms.measures import FRACTION_TOLERANCE, FRACTIONS, share_near

__all__ = ["dimensionality_evidence", "phase_evidence", "claim_evidence"]

SMALLEST_FRACTION = 3 / 8  # the sparsest uniform polytope the paper lists (square antiprism)


def dimensionality_evidence(dimensionality: dict[str, Any]) -> str:
    """How close the per-feature dimensionalities come to the paper's fractions, and where D* drops below them
    (the report's per-feature dimensionality figure)."""
    by_level = np.array([share_near(level, FRACTIONS, FRACTION_TOLERANCE)
                         for level in dimensionality["feature_dimensionality"]])
    d_star = np.array(dimensionality["d_star"])
    inverse_density = np.array(dimensionality["inverse_density"])
    text = (f"Per-feature dimensionality figure: near a listed fraction {by_level.max():.0%} at best per level, "
            "mostly where D* ≈ 1/2 (digons).")
    below = d_star < SMALLEST_FRACTION
    if below.any():
        text += (f" Where D* < 3/8 (from 1/(1 − S) ≈ {inverse_density[np.argmax(below)]:.2g} on) the represented "
                 "features pack more densely than any listed polytope, at Dᵢ close to D* itself.")
    return text


def phase_evidence(phase: dict[str, Any]) -> str:
    """How many cells of the phase diagram each phase takes, trained and in theory (the phase-diagram figure)."""
    return f"Phase-diagram figure, cells by phase: ours {phase['empirical_counts']}, theory {phase['theoretical_counts']}."


def claim_evidence(claim_id: str, metrics: dict[str, Any]) -> str:
    """The evidence for a failed claim ('' where the run's figures need no summary)."""
    if claim_id == "dimensionality_fractions":
        return dimensionality_evidence(metrics["dimensionality"])
    if claim_id == "phase_change":
        return phase_evidence(metrics["phase"])
    return ""
