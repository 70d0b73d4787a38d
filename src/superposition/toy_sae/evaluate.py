"""Evaluation stage of experiment `toy_sae`: every metric of the report's Figures 1–10 per grid point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from superposition.io import atomic_path, atomic_write_json
from superposition.metrics import max_cosine_similarity
from superposition.runtime import make_generator
from superposition.sweep import TrainedSweep, load_sweep
from superposition.sweep_evaluation import (
    count_dead_latents_grid,
    held_out_metrics,
    history_table,
    mmcs_with_larger_grid,
    point_columns,
    points,
    standardized_within_architecture,
)
from superposition.toy_data import ToyDataGenerator
from superposition.toy_sae.config import ToyEvaluateConfig
from superposition.toy_sae.ground_truth import load_ground_truth

__all__ = [
    "METRIC_COLUMNS",
    "evaluate_toy_sweep",
    "metrics_payload",
    "recovery_by_frequency",
    "sweep_metrics",
]

METRIC_COLUMNS = ["architecture", "sparsity", "dict_ratio", "dict_size", "mmcs", "mmcs_with_larger",
                  "mmcs_with_next_larger", "dead_latents", "reconstruction_loss", "penalty_loss", "std_log_reconstruction", "std_log_penalty", "ssll",
                  "mean_l0", "fraction_variance_unexplained"]


def recovery_by_frequency(best_cosines: np.ndarray, table: pd.DataFrame, groups: int = 8) -> pd.DataFrame:
    """MMCS restricted to groups of ground-truth features ordered by frequency.

    best_cosines: (n_points, G) max cosine of each feature, rows in the order of ``table``'s grid points. Feature
    g is active with probability ∝ λ^g, so index order is frequency order; group 0 holds the most frequent G/groups
    features.
    """
    rows = []
    for point, cosines in zip(table.itertuples(index=False), best_cosines):
        for group, part in enumerate(np.array_split(cosines, groups)):
            rows.append({"architecture": point.architecture, "sparsity": point.sparsity,
                         "dict_ratio": point.dict_ratio, "frequency_group": group, "mmcs": float(part.mean())})
    return pd.DataFrame(rows)


def sweep_metrics(trained: TrainedSweep, generator: ToyDataGenerator, config: ToyEvaluateConfig
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """(metrics table with METRIC_COLUMNS, best cosine of every feature per point (n_points, G))."""
    data = generator.sample(config.eval_samples, make_generator(config.eval_seed))
    table = point_columns(trained, generator.n_features)
    held_out = held_out_metrics(trained, data)
    best_cosines = np.stack([max_cosine_similarity(point.stack.w_dec[point.sparsity_index], generator.features).numpy()
                             for point in trained.points()])  # (n_points, G)
    table["mmcs"] = best_cosines.mean(axis=-1)
    table["mmcs_with_larger"] = mmcs_with_larger_grid(trained)
    table["mmcs_with_next_larger"] = mmcs_with_larger_grid(trained, next_only=True)  # the authors' code (appendix)
    table["dead_latents"] = count_dead_latents_grid(trained, config.dead_window, "toy_sae.evaluate.dead_window")
    for column, values in held_out.items():
        table[column] = values
    table["std_log_reconstruction"] = standardized_within_architecture(table, "reconstruction_loss")
    table["std_log_penalty"] = standardized_within_architecture(table, "penalty_loss")
    table["ssll"] = table.std_log_reconstruction + table.std_log_penalty  # summed standardized log losses
    return table[METRIC_COLUMNS], best_cosines


def evaluate_toy_sweep(
    ground_truth: Path, sweep: Path, config: ToyEvaluateConfig, metrics_csv: Path, metrics_json: Path,
    history_csv: Path, recovery_csv: Path,
) -> pd.DataFrame:
    """All metrics of the report's Figures 1–10 for every grid point; writes CSV + JSON tables.

    Also writes the training history and the recovery of features grouped by frequency (a diagnostic).
    """
    generator = load_ground_truth(ground_truth)
    trained = load_sweep(sweep)
    table, best_cosines = sweep_metrics(trained, generator, config)
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_path(history_csv) as temporary:
        history_table(trained, generator.n_features).to_csv(temporary, index=False)
    with atomic_path(recovery_csv) as temporary:
        recovery_by_frequency(best_cosines, table).to_csv(temporary, index=False)
    train_config = json.loads(trained.metadata.get("train_config", "{}"))
    atomic_write_json(metrics_json, metrics_payload(table, trained.steps, config.dead_window, train_config))
    return table


def metrics_payload(table: pd.DataFrame, steps: int, dead_window: int, train_config: dict) -> dict:
    """The JSON form of the metrics table with headline numbers under ``summary`` (DVC reads these)."""
    ratio_one = table[np.isclose(table.dict_ratio, 1.0)]
    summary = {"steps": steps, "dead_window": dead_window, "n_models": len(table),
               "max_mmcs": float(table.mmcs.max()), "total_dead_latents": int(table.dead_latents.sum())}
    if len(ratio_one):
        best = ratio_one.loc[ratio_one.mmcs.idxmax()]
        summary.update(best_mmcs_ratio_1=float(best.mmcs), best_sparsity_ratio_1=float(best.sparsity),
                       best_architecture_ratio_1=str(best.architecture))
    return {"experiment": "toy_sae", "summary": summary, "train_config": train_config, "points": points(table)}
