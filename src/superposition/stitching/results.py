"""Read experiment `stitching`'s results (``results/stitching/``) for the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from superposition.claims import read_claims
from superposition.io import read_json

__all__ = ["StitchingResults", "load_stitching_results", "RESULT_FILES"]

RESULT_FILES = {"latents": "latents.csv", "groups": "groups.csv", "path": "path.csv", "family": "family.csv",
                "summary": "stitching.json", "meta": "meta.json", "toy": "toy.json", "claims": "claims.json"}


@dataclass(frozen=True)
class StitchingResults:
    """Everything the report draws.

    Attributes:
        latents: per pair and larger-SAE latent: max cosine with the smaller SAE, novel, insertion ΔMSE.
        groups: per pair and matched group: kind, sizes, ΔMSE applied alone.
        path: per pair and step of the stitching path: latents, MSE, L0, step standard error, kind.
        family: per SAE of the family: held-out MSE, L0, FVU.
        summary: ``stitching.json``. meta: ``meta.json``. toy: ``toy.json``. claims: ``claims.json``.
    """

    latents: pd.DataFrame
    groups: pd.DataFrame
    path: pd.DataFrame
    family: pd.DataFrame
    summary: dict[str, Any]
    meta: dict[str, Any]
    toy: dict[str, Any]
    claims: dict[str, Any]


def load_stitching_results(results_dir: Path | str) -> StitchingResults:
    """Read ``results_dir`` (``results/stitching``)."""
    folder = Path(results_dir)
    tables = {name: pd.read_csv(folder / RESULT_FILES[name]) for name in ("latents", "groups", "path", "family")}
    return StitchingResults(**tables, summary=read_json(folder / RESULT_FILES["summary"]),
                            meta=read_json(folder / RESULT_FILES["meta"]), toy=read_json(folder / RESULT_FILES["toy"]),
                            claims=read_claims(folder / RESULT_FILES["claims"]))
