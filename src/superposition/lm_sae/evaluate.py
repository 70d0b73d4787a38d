"""Evaluation stage of experiment `lm_sae`: the report's Figures 11–13 metrics per grid point."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from superposition.io import atomic_path, atomic_write_json
from superposition.lm.activations import ActivationReader
from superposition.lm_sae.config import LMSAEEvaluateConfig
from superposition.lm_sae.train import split_shards
from superposition.metrics import standardized_log, summed_standardized_log_loss
from superposition.runtime import make_generator
from superposition.sweep import TrainedSweep, load_sweep
from superposition.sweep_evaluation import (
    count_dead_latents_grid,
    finite_or_none,
    held_out_losses,
    history_table,
    mmcs_with_larger_grid,
    points,
)

__all__ = ["METRIC_COLUMNS", "evaluate_lm_sweep", "dead_by_window"]

# Dead-latent windows of the appendix table, as fractions of the steps trained (the report's T is 3000 batches,
# longer than the default tier trains): how much of "dead" is the window's length?
WINDOW_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)


def dead_by_window(trained: TrainedSweep, configured: int) -> dict[str, int]:
    """Dead latents over the whole grid for windows T of 1/8 … all of the steps trained, and the configured T."""
    windows = sorted({max(1, round(fraction * trained.steps)) for fraction in WINDOW_FRACTIONS} | {configured})
    return {str(window): int(count_dead_latents_grid(trained, window).sum()) for window in windows}

METRIC_COLUMNS = ["l1_coefficient", "dict_ratio", "dict_size", "mmcs_with_larger", "dead_latents", "dead_fraction",
                  "reconstruction_loss", "l1_loss", "fraction_variance_unexplained", "std_log_reconstruction",
                  "std_log_l1", "ssll"]


def evaluate_lm_sweep(activations: Path, sweep: Path, config: LMSAEEvaluateConfig, metrics_csv: Path,
                      metrics_json: Path, history_csv: Path) -> pd.DataFrame:
    """Dead latents, SSLL, MMCS with larger dictionaries and held-out losses for every grid point."""
    trained = load_sweep(sweep)
    reader = ActivationReader(activations)
    _, eval_shards = split_shards(reader, config.eval_shards)
    scale = float(trained.metadata["scale"])
    data = reader.sample(config.eval_tokens, make_generator(config.eval_seed), eval_shards) * scale
    reconstruction, l1 = held_out_losses(trained, data)
    # reconstruction is (1/d)·mean ||x − x̂||²; FVU divides the summed error by the summed variance
    variance = (data - data.mean(dim=0)).pow(2).sum(dim=1).mean().item() / reader.d
    dead = count_dead_latents_grid(trained, config.dead_window)
    larger = mmcs_with_larger_grid(trained)
    std_rec, std_l1 = standardized_log(reconstruction), standardized_log(l1)
    ssll = summed_standardized_log_loss(reconstruction, l1)
    rows = []
    grid = trained.grid
    for size_index, size in enumerate(grid.dict_sizes):
        for l1_index, alpha in enumerate(grid.l1_coefficients):
            at = (size_index, l1_index)
            rows.append({"l1_coefficient": alpha, "dict_ratio": size / reader.d, "dict_size": size,
                         "mmcs_with_larger": larger[at], "dead_latents": int(dead[at]),
                         "dead_fraction": float(dead[at]) / size, "reconstruction_loss": reconstruction[at],
                         "l1_loss": l1[at], "fraction_variance_unexplained": reconstruction[at] / variance,
                         "std_log_reconstruction": std_rec[at], "std_log_l1": std_l1[at], "ssll": ssll[at]})
    table = pd.DataFrame(rows, columns=METRIC_COLUMNS)
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
