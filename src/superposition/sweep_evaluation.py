"""Metrics shared by every SAE sweep (toy data or language-model activations), per grid point.

Results are keyed by grid point in :meth:`TrainedSweep.points` order (architecture, then dictionary size, then
sparsity value); :func:`point_columns` gives the identifying columns of the tables in that order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from superposition.metrics import count_dead_latents, mmcs_with_larger
from superposition.sae import get_architecture
from superposition.sweep import TrainedSweep

__all__ = [
    "HeldOut",
    "count_dead_latents_grid",
    "finite_or_none",
    "held_out_metrics",
    "history_table",
    "mmcs_with_larger_grid",
    "point_columns",
    "points",
    "standardized_within_architecture",
]

HeldOut = dict[str, np.ndarray]


def point_columns(trained: TrainedSweep, size_unit: int) -> pd.DataFrame:
    """architecture, sparsity, dict_ratio (J / size_unit) and dict_size of every grid point, in points() order."""
    return pd.DataFrame([{"architecture": p.architecture, "sparsity": p.sparsity, "dict_ratio": p.dict_size / size_unit,
                          "dict_size": p.dict_size} for p in trained.points()])


def history_table(trained: TrainedSweep, size_unit: int) -> pd.DataFrame:
    """Training losses in long form: step, architecture, sparsity, dict_ratio, reconstruction_loss, penalty_loss."""
    rows = []
    for log_index, step in enumerate(trained.history_steps.tolist()):
        for point in trained.points():
            at = (log_index, point.size_index, point.sparsity_index)
            rows.append({"step": step, "architecture": point.architecture, "sparsity": point.sparsity,
                         "dict_ratio": point.dict_size / size_unit,
                         "reconstruction_loss": trained.history_reconstruction[point.architecture][at].item(),
                         "penalty_loss": trained.history_penalty[point.architecture][at].item()})
    return pd.DataFrame(rows)


@torch.no_grad()
def held_out_metrics(trained: TrainedSweep, data: torch.Tensor, chunk: int = 1024) -> HeldOut:
    """Per grid point on ``data`` (N, h), each an array in points() order:

    reconstruction_loss = (1/h) mean_n ||x − x̂||²; penalty_loss = the objective's penalty on held-out data
    ((α/J)|c|₁ for relu_l1, λ·L0 for jumprelu, 0 for topk and batchtopk, whose AuxK is a training device);
    mean_l0 = mean_n #{j : c_j > 0} with inference codes; fraction_variance_unexplained =
    Σ_n ||x − x̂||² / Σ_n ||x − x̄||², x̄ the mean of ``data``.
    """
    total_variance = (data - data.mean(dim=0)).pow(2).sum().item()
    columns: dict[str, list[np.ndarray]] = {key: [] for key in ("reconstruction_loss", "penalty_loss", "mean_l0",
                                                                "fraction_variance_unexplained")}
    for grid in trained.grids:
        arch = get_architecture(grid.architecture)
        for size in grid.dict_sizes:
            stack = trained.stacks[grid.architecture, size]
            sums = np.zeros((4, stack.n_models))
            for start in range(0, data.shape[0], chunk):
                batch = data[start : start + chunk]
                codes = arch.encode(batch, stack)
                squared = (arch.decode(codes, stack) - batch).pow(2)  # (n, B, h)
                weight = batch.shape[0] / data.shape[0]
                sums[0] += squared.mean(dim=(1, 2)).numpy() * weight
                sums[1] += arch.penalty(codes, stack).numpy() * weight
                sums[2] += (codes > 0).sum(dim=2).double().mean(dim=1).numpy() * weight
                sums[3] += squared.sum(dim=(1, 2)).double().numpy()
            sums[3] /= total_variance
            for key, values in zip(columns, sums):
                columns[key].append(values)
    return {key: np.concatenate(values) for key, values in columns.items()}


def count_dead_latents_grid(trained: TrainedSweep, window: int, window_key: str) -> np.ndarray:
    """Dead-latent counts with window T per grid point (points() order); T may not exceed the steps trained."""
    if window > trained.steps:
        raise ValueError(f"dead_window={window} exceeds the {trained.steps} training steps: lower {window_key} or "
                         "train for more steps")
    return np.concatenate([count_dead_latents(trained.steps_since_fired[grid.architecture, size], window).numpy()
                           for grid in trained.grids for size in grid.dict_sizes])


def mmcs_with_larger_grid(trained: TrainedSweep, next_only: bool = False) -> np.ndarray:
    """MMCS of each dictionary with the larger dictionaries (``next_only``: the next larger one) of the same
    architecture and sparsity value, per grid point (points() order); NaN for the largest size."""
    values = {}
    for grid in trained.grids:
        for index in range(len(grid.sparsities)):
            larger = mmcs_with_larger({size: trained.stacks[grid.architecture, size].w_dec[index]
                                       for size in grid.dict_sizes}, next_only)
            for size, value in larger.items():
                values[grid.architecture, size, index] = value
    return np.array([values[p.architecture, p.dict_size, p.sparsity_index] for p in trained.points()])


def standardized_within_architecture(table: pd.DataFrame, column: str) -> np.ndarray:
    """``standardized_log`` of ``column`` computed over each architecture's grid points separately."""
    from superposition.metrics import standardized_log

    result = np.full(len(table), np.nan)
    for _, rows in table.groupby("architecture", sort=False):
        result[rows.index.to_numpy()] = standardized_log(rows[column].to_numpy())
    return result


def finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def points(table: pd.DataFrame) -> list[dict]:
    """The rows of a metrics table as JSON-safe dicts (NaN/inf become null)."""
    return [{key: (finite_or_none(value) if isinstance(value, float) else value) for key, value in row.items()}
            for row in table.to_dict(orient="records")]
