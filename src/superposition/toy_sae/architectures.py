"""Secondary stage of experiment `toy_sae`: the SAE architectures compared on the toy data's ground truth.

Every architecture of ``toy_sae.architectures`` is trained over its sparsity values at the configured dictionary
ratios, on the same toy data (same generator, ground truth and batch stream) as the report's sweep, as one
computation. The metrics are the report's (MMCS with the true features, dead latents, held-out losses) plus the
mean L0 and the fraction of variance unexplained that the TopK and BatchTopK papers plot against each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from superposition.io import atomic_path, atomic_write_json
from superposition.sweep import load_sweep
from superposition.sweep_evaluation import points
from superposition.toy_sae.config import ToyEvaluateConfig
from superposition.toy_sae.evaluate import sweep_metrics
from superposition.toy_sae.ground_truth import load_ground_truth

__all__ = ["COMPARISON_COLUMNS", "evaluate_architecture_sweep", "comparison_summary"]

COMPARISON_COLUMNS = ["architecture", "sparsity", "dict_ratio", "dict_size", "mean_l0", "mmcs",
                      "fraction_variance_unexplained", "reconstruction_loss", "dead_latents"]


def comparison_summary(table: pd.DataFrame) -> dict:
    """Per architecture and ratio: the best MMCS, with its sparsity value and mean L0."""
    summary = {}
    for (architecture, ratio), rows in table.groupby(["architecture", "dict_ratio"], sort=False):
        best = rows.loc[rows.mmcs.idxmax()]
        summary[f"{architecture}_x{ratio:g}"] = {"best_mmcs": float(best.mmcs), "sparsity": float(best.sparsity),
                                                 "mean_l0": float(best.mean_l0)}
    return summary


def evaluate_architecture_sweep(ground_truth: Path, sweep: Path, config: ToyEvaluateConfig, metrics_csv: Path,
                                metrics_json: Path) -> pd.DataFrame:
    """The comparison table (COMPARISON_COLUMNS, one row per trained SAE): CSV, and JSON with a summary."""
    generator = load_ground_truth(ground_truth)
    trained = load_sweep(sweep)
    table, _ = sweep_metrics(trained, generator, config)
    table = table[COMPARISON_COLUMNS]
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    payload = {"experiment": "toy_sae", "part": "architectures", "steps": trained.steps,
               "dead_window": config.dead_window, "summary": comparison_summary(table),
               "train_config": json.loads(trained.metadata.get("train_config", "{}")), "points": points(table)}
    atomic_write_json(metrics_json, payload)
    return table

