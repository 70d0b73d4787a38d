"""Read experiment `feature_sparsity`'s results (``results/feature_sparsity/``) and select rows from them.

The synthetic settings, token embeddings and layers are one JSON file each; a row is one coded dataset
(a sparse linear dataset or a control, the embeddings or their Gaussian, or one layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from superposition.claims import read_claims
from superposition.feature_sparsity.synthetic import SEPARATION_ACTIVE
from superposition.io import read_json

__all__ = ["METRIC_NAMES", "SEPARATION_ACTIVE", "FeatureSparsityResults", "load_feature_sparsity_results",
           "sparse_rows", "control_rows", "separation_rows", "dataset_label"]

METRIC_NAMES = {"n0": "non-zero entries N₀", "final_loss": "final loss L", "s1": "average coefficient norm S₁",
                "normalized_loss": "normalized loss L_norm"}
CONTROL_LABELS = {"gaussian": "Gaussian", "heavy_tailed": "heavy-tailed", "rademacher": "Rademacher"}


@dataclass(frozen=True)
class FeatureSparsityResults:
    """Everything the report draws.

    Attributes:
        synthetic: setting name -> ``synthetic/<setting>.json``, the main setting first, then the ablations by name.
        embeddings: ``embeddings/*.json``, by embedding size d, then model name.
        layers: ``layers/*.json``, by d, then model name.
        features: ``features.json`` (Tables 1–3).
        claims: ``claims.json``.
        separation_check: ``appendix/separation_check.json`` (the appendix experiment on Fig 1b).
    """

    synthetic: dict[str, dict[str, Any]]
    embeddings: list[dict[str, Any]]
    layers: list[dict[str, Any]]
    features: dict[str, Any]
    claims: dict[str, Any]
    separation_check: dict[str, Any]

    @property
    def main(self) -> dict[str, Any]:
        """The main synthetic setting (Figures 1 and 4)."""
        return self.synthetic["main"]

    @property
    def ablations(self) -> dict[str, dict[str, Any]]:
        """The other synthetic settings (Figures 5–8), by name."""
        return {name: payload for name, payload in self.synthetic.items() if name != "main"}


def _by_size(folder: Path) -> list[dict[str, Any]]:
    return sorted((read_json(path) for path in folder.glob("*.json")), key=lambda p: (p["d"], p["model"]))


def load_feature_sparsity_results(results_dir: Path | str) -> FeatureSparsityResults:
    """Read ``results_dir`` (``results/feature_sparsity``); a tier without embeddings or layers gives empty lists."""
    results = Path(results_dir)
    synthetic = {p["setting"]: p for p in map(read_json, sorted((results / "synthetic").glob("*.json")))}
    ordered = {name: synthetic[name] for name in sorted(synthetic, key=lambda s: (s != "main", s))}
    return FeatureSparsityResults(synthetic=ordered, embeddings=_by_size(results / "embeddings"),
                                  layers=_by_size(results / "layers"), features=read_json(results / "features.json"),
                                  claims=read_claims(results / "claims.json"),
                                  separation_check=read_json(results / "appendix" / "separation_check.json"))


def sparse_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The sparse linear datasets of a synthetic setting, by number of active features a."""
    return sorted((r for r in payload["rows"] if r["kind"] == "sparse_linear"), key=lambda r: r["active"])


def control_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-sparse-linear controls of a synthetic setting (Gaussian, heavy-tailed, Rademacher)."""
    return [r for r in payload["rows"] if r["kind"] != "sparse_linear"]


def separation_rows(
    payload: dict[str, Any], active: tuple[float, ...] = SEPARATION_ACTIVE,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sparse rows with a in ``active`` (all sparse rows if none of them was run) and the controls."""
    chosen = [r for r in sparse_rows(payload) if r["active"] in active]
    return (chosen or sparse_rows(payload)), control_rows(payload)


def dataset_label(row: dict[str, Any]) -> str:
    """A dataset's short name for axes: ``sparse a=5`` or the control's name."""
    if row["kind"] == "sparse_linear":
        return f"sparse a={row['active']:g}"
    return CONTROL_LABELS.get(row["kind"], row["kind"])
