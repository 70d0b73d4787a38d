"""Evaluation stage of experiment `toy_sae`: every metric of the report's Figures 1–10 per grid point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from superposition.io import atomic_path, atomic_write_json
from superposition.metrics import max_cosine_similarity, standardized_log, summed_standardized_log_loss
from superposition.runtime import make_generator
from superposition.sweep import SweepGrid, load_sweep
from superposition.sweep_evaluation import (
    count_dead_latents_grid,
    held_out_losses,
    history_table,
    mmcs_with_larger_grid,
    points,
)
from superposition.toy_sae.config import ToyEvaluateConfig
from superposition.toy_sae.ground_truth import load_ground_truth

__all__ = [
    "METRIC_COLUMNS",
    "evaluate_toy_sweep",
    "metrics_payload",
    "recovery_by_frequency",
]

METRIC_COLUMNS = ["l1_coefficient", "dict_ratio", "dict_size", "mmcs", "mmcs_with_larger", "dead_latents",
                  "reconstruction_loss", "l1_loss", "std_log_reconstruction", "std_log_l1", "ssll"]


def recovery_by_frequency(best_cosines: np.ndarray, grid: SweepGrid, n_features: int, groups: int = 8) -> pd.DataFrame:
    """MMCS restricted to groups of ground-truth features ordered by frequency.

    best_cosines: (n_sizes, n_l1, G) max cosine of each feature. Feature g is active with probability ∝ λ^g, so
    index order is frequency order; group 0 holds the most frequent G/groups features.
    """
    rows = []
    for size_index, size in enumerate(grid.dict_sizes):
        for l1_index, alpha in enumerate(grid.l1_coefficients):
            for group, part in enumerate(np.array_split(best_cosines[size_index, l1_index], groups)):
                rows.append({"l1_coefficient": alpha, "dict_ratio": size / n_features, "frequency_group": group,
                             "mmcs": float(part.mean())})
    return pd.DataFrame(rows)


def evaluate_toy_sweep(
    ground_truth: Path, sweep: Path, config: ToyEvaluateConfig, metrics_csv: Path, metrics_json: Path,
    history_csv: Path, recovery_csv: Path,
) -> pd.DataFrame:
    """All metrics of the report's Figures 1–10 for every grid point; writes CSV + JSON tables.

    Also writes the training history and the recovery of features grouped by frequency (a diagnostic).
    """
    generator = load_ground_truth(ground_truth)
    trained = load_sweep(sweep)
    grid = trained.grid
    data = generator.sample(config.eval_samples, make_generator(config.eval_seed))
    reconstruction, l1 = held_out_losses(trained, data)
    dead = count_dead_latents_grid(trained, config.dead_window)
    best_cosines = np.array([[max_cosine_similarity(stack.w_dec[i], generator.features).numpy()
                              for i in range(stack.n_models)] for stack in trained.stacks])  # (n_sizes, n_l1, G)
    ground_truth_mmcs = best_cosines.mean(axis=-1)
    larger = mmcs_with_larger_grid(trained)
    std_rec, std_l1 = standardized_log(reconstruction), standardized_log(l1)
    ssll = summed_standardized_log_loss(reconstruction, l1)

    rows = []
    for size_index, size in enumerate(grid.dict_sizes):
        for l1_index, alpha in enumerate(grid.l1_coefficients):
            at = (size_index, l1_index)
            rows.append({
                "l1_coefficient": alpha, "dict_ratio": size / generator.n_features, "dict_size": size,
                "mmcs": ground_truth_mmcs[at], "mmcs_with_larger": larger[at], "dead_latents": int(dead[at]),
                "reconstruction_loss": reconstruction[at], "l1_loss": l1[at],
                "std_log_reconstruction": std_rec[at], "std_log_l1": std_l1[at],
                "ssll": ssll[at],
            })
    table = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_path(history_csv) as temporary:
        history_table(trained, generator.n_features).to_csv(temporary, index=False)
    with atomic_path(recovery_csv) as temporary:
        recovery_by_frequency(best_cosines, grid, generator.n_features).to_csv(temporary, index=False)
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
        summary.update(best_mmcs_ratio_1=float(best.mmcs), best_l1_ratio_1=float(best.l1_coefficient))
    return {"experiment": "toy_sae", "summary": summary, "train_config": train_config, "points": points(table)}
