"""Metrics shared by every SAE sweep (toy data or language-model activations), per grid point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from superposition.metrics import count_dead_latents, mmcs_with_larger
from superposition.sae import sae_loss
from superposition.sweep import TrainedSweep

__all__ = [
    "count_dead_latents_grid",
    "finite_or_none",
    "held_out_losses",
    "history_table",
    "mmcs_with_larger_grid",
    "points",
]


def history_table(trained: TrainedSweep, size_unit: int) -> pd.DataFrame:
    """Training losses in long form: step, l1_coefficient, dict_ratio (J / size_unit), reconstruction_loss, l1_loss."""
    rows = []
    for log_index, step in enumerate(trained.history_steps.tolist()):
        for size_index, size in enumerate(trained.grid.dict_sizes):
            for l1_index, alpha in enumerate(trained.grid.l1_coefficients):
                rows.append({
                    "step": step, "l1_coefficient": alpha, "dict_ratio": size / size_unit,
                    "reconstruction_loss": trained.history_reconstruction[log_index, size_index, l1_index].item(),
                    "l1_loss": trained.history_l1[log_index, size_index, l1_index].item(),
                })
    return pd.DataFrame(rows)


@torch.no_grad()
def held_out_losses(trained: TrainedSweep, data: torch.Tensor, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Mean reconstruction and L1 losses of every model on ``data``: two (n_sizes, n_l1) arrays."""
    n_sizes, n_l1 = len(trained.grid.dict_sizes), len(trained.grid.l1_coefficients)
    reconstruction, l1 = np.zeros((n_sizes, n_l1)), np.zeros((n_sizes, n_l1))
    for size_index, stack in enumerate(trained.stacks):
        for start in range(0, data.shape[0], chunk):
            batch = data[start : start + chunk]
            rec, pen, _ = sae_loss(batch, stack)
            weight = batch.shape[0] / data.shape[0]
            reconstruction[size_index] += rec.numpy() * weight
            l1[size_index] += pen.numpy() * weight
    return reconstruction, l1


def count_dead_latents_grid(trained: TrainedSweep, window: int) -> np.ndarray:
    """(n_sizes, n_l1) dead-latent counts with window T; T may not exceed the steps trained."""
    if window > trained.steps:
        raise ValueError(f"dead_window={window} exceeds the {trained.steps} training steps: lower "
                         "toy_sae.evaluate.dead_window or raise toy_sae.train.steps")
    return np.stack([count_dead_latents(counter, window).numpy() for counter in trained.steps_since_fired])


def mmcs_with_larger_grid(trained: TrainedSweep) -> np.ndarray:
    """(n_sizes, n_l1) MMCS of each dictionary with the larger dictionaries of the same L1 (NaN for the largest)."""
    grid = trained.grid
    larger = np.zeros((len(grid.dict_sizes), len(grid.l1_coefficients)))
    for l1_index in range(len(grid.l1_coefficients)):
        values = mmcs_with_larger({stack.dict_size: stack.w_dec[l1_index] for stack in trained.stacks})
        larger[:, l1_index] = [values[size] for size in grid.dict_sizes]
    return larger


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def points(table: pd.DataFrame) -> list[dict]:
    """The rows of a metrics table as JSON-safe dicts (NaN/inf become null)."""
    return [{key: (finite_or_none(value) if isinstance(value, float) else value) for key, value in row.items()}
            for row in table.to_dict(orient="records")]
