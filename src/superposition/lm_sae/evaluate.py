"""Evaluation stage of experiment `lm_sae`: the report's Figures 11–13 metrics per grid point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from superposition.io import atomic_path, atomic_write_json
from superposition.lm.activations import ActivationReader
from superposition.lm_sae.config import LMSAEEvaluateConfig
from superposition.lm_sae.train import split_shards
from superposition.runtime import make_generator
from superposition.sweep import TrainedSweep, load_sweep
from superposition.sweep_evaluation import (
    count_dead_latents_grid,
    finite_or_none,
    held_out_metrics,
    history_table,
    mmcs_with_larger_grid,
    point_columns,
    points,
    standardized_within_architecture,
)

__all__ = ["METRIC_COLUMNS", "evaluate_lm_sweep", "dead_by_window"]

# Dead-latent windows of the appendix table, as fractions of the steps trained (the report's T is 3000 batches,
# longer than the default tier trains): how much of "dead" is the window's length?
WINDOW_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)


def dead_by_window(trained: TrainedSweep, configured: int) -> dict[str, int]:
    """Dead latents over the whole grid for windows T of 1/8 … all of the steps trained, and the configured T."""
    windows = sorted({max(1, round(fraction * trained.steps)) for fraction in WINDOW_FRACTIONS} | {configured})
    return {str(window): int(count_dead_latents_grid(trained, window, "lm_sae.evaluate.dead_window").sum()) for window in windows}

METRIC_COLUMNS = ["architecture", "sparsity", "dict_ratio", "dict_size", "mmcs_with_larger", "dead_latents",
                  "dead_fraction", "reconstruction_loss", "penalty_loss", "fraction_variance_unexplained", "mean_l0",
                  "std_log_reconstruction", "std_log_penalty", "ssll"]


def evaluate_lm_sweep(activations: Path, sweep: Path, config: LMSAEEvaluateConfig, metrics_csv: Path,
                      metrics_json: Path, history_csv: Path) -> pd.DataFrame:
    """Dead latents, SSLL, MMCS with larger dictionaries and held-out losses for every grid point."""
    trained = load_sweep(sweep)
    reader = ActivationReader(activations)
    _, eval_shards = split_shards(reader, config.eval_shards)
    scale = float(trained.metadata["scale"])
    data = reader.sample(config.eval_tokens, make_generator(config.eval_seed), eval_shards) * scale
    table = point_columns(trained, reader.d)
    table["mmcs_with_larger"] = mmcs_with_larger_grid(trained)
    table["dead_latents"] = count_dead_latents_grid(trained, config.dead_window, "lm_sae.evaluate.dead_window")
    table["dead_fraction"] = table.dead_latents / table.dict_size
    for column, values in held_out_metrics(trained, data).items():
        table[column] = values
    table["std_log_reconstruction"] = standardized_within_architecture(table, "reconstruction_loss")
    table["std_log_penalty"] = standardized_within_architecture(table, "penalty_loss")
    table["ssll"] = table.std_log_reconstruction + table.std_log_penalty
    table = table[METRIC_COLUMNS]
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_path(history_csv) as temporary:
        history_table(trained, reader.d).to_csv(temporary, index=False)
    summary = {"steps": trained.steps, "dead_window": config.dead_window, "n_models": len(table),
               "eval_tokens": int(data.shape[0]), "scale": scale,
               "target_norm": float(trained.metadata["target_norm"]),
               # None when the grid has a single dictionary size (nothing larger to compare with)
               "max_mmcs_with_larger": finite_or_none(float(table.mmcs_with_larger.max())),
               "total_dead_latents": int(table.dead_latents.sum()),
               "dead_by_window": dead_by_window(trained, config.dead_window),
               "min_fraction_variance_unexplained": float(table.fraction_variance_unexplained.min())}
    atomic_write_json(metrics_json, {"experiment": "lm_sae", "summary": summary,
                                     "activations": json.loads(trained.metadata["activations"]),
                                     "train_config": json.loads(trained.metadata["train_config"]),
                                     "points": points(table)})
    return table
