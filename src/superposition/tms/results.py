"""Read the trained models, analysis and claims of experiment `tms` (``results/tms/``) back for its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from superposition.claims import read_claims
from superposition.io import read_json
from superposition.tms.experiments import PARTS, load_models
from superposition.tms.model import TrainedToyModels

__all__ = ["TmsResults", "load_tms_results"]


@dataclass(frozen=True)
class TmsResults:
    """Everything the report draws.

    Attributes:
        metrics: ``metrics.json``: ``config`` and one analysis per part (intro, sparsity_sweep, phase, dimensionality).
        claims: ``claims.json``.
        models: each part's trained instances and loss history (``models/<part>.safetensors``), in PARTS order.
    """

    metrics: dict[str, Any]
    claims: dict[str, Any]
    models: dict[str, TrainedToyModels]


def load_tms_results(results_dir: Path | str) -> TmsResults:
    """Read ``results_dir`` (``results/tms``)."""
    results = Path(results_dir)
    return TmsResults(metrics=read_json(results / "metrics.json"), claims=read_claims(results / "claims.json"),
                      models={part: load_models(results / "models" / f"{part}.safetensors") for part in PARTS})
