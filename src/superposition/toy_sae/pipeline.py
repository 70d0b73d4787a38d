"""The stages of experiment `toy_sae`: ground truth → sweep training → metrics.

Each public function is what one Snakemake rule calls; all of them also run from a notebook or a test.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open

from superposition.io import atomic_path, atomic_save_safetensors, atomic_write_json
from superposition.metrics import count_dead_latents, mmcs, mmcs_with_larger, standardized_log
from superposition.runtime import make_generator, resolve_device
from superposition.sae import sae_loss
from superposition.sweep import SweepGrid, TrainedSweep, load_sweep, save_sweep, train_sweep
from superposition.toy_data import ToyDataGenerator
from superposition.toy_sae.config import ToyDataConfig, ToyEvaluateConfig, ToyTrainConfig

__all__ = ["make_ground_truth", "load_ground_truth", "dict_sizes", "toy_batches", "train_toy_sweep",
           "evaluate_toy_sweep", "history_table", "METRIC_COLUMNS"]

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["l1_coefficient", "dict_ratio", "dict_size", "mmcs", "mmcs_with_larger", "dead_latents",
                  "reconstruction_loss", "l1_loss", "std_log_reconstruction", "std_log_l1", "ssll"]


def make_ground_truth(config: ToyDataConfig, path: Path) -> ToyDataGenerator:
    """Draw the features and covariance of the toy data and save them (safetensors) to ``path``."""
    generator = ToyDataGenerator.create(config.n_features, config.dim, config.decay, config.mean_active,
                                        config.seed)
    metadata = {"decay": repr(config.decay), "mean_active": repr(config.mean_active), "seed": str(config.seed)}
    atomic_save_safetensors({"features": generator.features,
                             "covariance_cholesky": generator.covariance_cholesky}, path, metadata)
    return generator


def load_ground_truth(path: Path) -> ToyDataGenerator:
    """Read the generator written by :func:`make_ground_truth`."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        features = handle.get_tensor("features")
        cholesky = handle.get_tensor("covariance_cholesky")
    return ToyDataGenerator(features, cholesky, float(metadata["decay"]), float(metadata["mean_active"]))


def dict_sizes(n_features: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Dictionary sizes J = ratio × G; each must be a whole number."""
    sizes = []
    for ratio in ratios:
        size = ratio * n_features
        if abs(size - round(size)) > 1e-9 or round(size) < 1:
            raise ValueError(f"dict ratio {ratio} × G={n_features} = {size} is not a whole number of latents")
        sizes.append(int(round(size)))
    return tuple(sizes)


def toy_batches(generator: ToyDataGenerator, batch_size: int, seed: int, device: torch.device) -> Iterator[torch.Tensor]:
    """An endless stream of (batch_size, h) toy batches, generated on ``device`` from ``seed``."""
    on_device = generator.to(device)
    rng = make_generator(seed, device)
    while True:
        yield on_device.sample(batch_size, rng)


def train_toy_sweep(
    ground_truth: Path, config: ToyTrainConfig, device: str, output: Path, progress: bool = True
) -> TrainedSweep:
    """Train the configured grid on streamed toy data and save it to ``output``."""
    generator = load_ground_truth(ground_truth)
    torch_device = resolve_device(device)
    grid = SweepGrid(config.l1_coefficients, dict_sizes(generator.n_features, config.dict_ratios))
    log.info("training %d SAEs (%d latents in all) for %d steps on %s", grid.n_models, grid.total_latents(),
             config.steps, torch_device)
    trained = train_sweep(toy_batches(generator, config.batch_size, config.data_seed, torch_device),
                          generator.dim, grid, config.steps, config.lr, config.seed, torch_device,
                          config.log_every, progress)
    trained.metadata["train_config"] = json.dumps(dataclasses.asdict(config))
    save_sweep(trained, output)
    return trained


def history_table(trained: TrainedSweep, n_features: int) -> pd.DataFrame:
    """Training losses in long form: step, l1_coefficient, dict_ratio, reconstruction_loss, l1_loss."""
    rows = []
    for log_index, step in enumerate(trained.history_steps.tolist()):
        for size_index, size in enumerate(trained.grid.dict_sizes):
            for l1_index, alpha in enumerate(trained.grid.l1_coefficients):
                rows.append({
                    "step": step, "l1_coefficient": alpha, "dict_ratio": size / n_features,
                    "reconstruction_loss": trained.history_reconstruction[log_index, size_index, l1_index].item(),
                    "l1_loss": trained.history_l1[log_index, size_index, l1_index].item(),
                })
    return pd.DataFrame(rows)


@torch.no_grad()
def _held_out_losses(trained: TrainedSweep, data: torch.Tensor, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
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


def evaluate_toy_sweep(
    ground_truth: Path, sweep: Path, config: ToyEvaluateConfig, metrics_csv: Path, metrics_json: Path,
    history_csv: Path,
) -> pd.DataFrame:
    """All metrics of the report's Figures 1–10 for every grid point; writes CSV + JSON tables."""
    generator = load_ground_truth(ground_truth)
    trained = load_sweep(sweep)
    grid = trained.grid
    data = generator.sample(config.eval_samples, make_generator(config.eval_seed))
    reconstruction, l1 = _held_out_losses(trained, data)
    dead = count_dead_latents_grid(trained, config.dead_window)
    ground_truth_mmcs = np.array([[mmcs(stack.w_dec[i], generator.features) for i in range(stack.n_models)]
                                  for stack in trained.stacks])
    larger = np.zeros_like(ground_truth_mmcs)
    for l1_index in range(len(grid.l1_coefficients)):
        by_size = {stack.dict_size: stack.w_dec[l1_index] for stack in trained.stacks}
        values = mmcs_with_larger(by_size)
        larger[:, l1_index] = [values[size] for size in grid.dict_sizes]
    std_rec, std_l1 = standardized_log(reconstruction), standardized_log(l1)

    rows = []
    for size_index, size in enumerate(grid.dict_sizes):
        for l1_index, alpha in enumerate(grid.l1_coefficients):
            at = (size_index, l1_index)
            rows.append({
                "l1_coefficient": alpha, "dict_ratio": size / generator.n_features, "dict_size": size,
                "mmcs": ground_truth_mmcs[at], "mmcs_with_larger": larger[at], "dead_latents": int(dead[at]),
                "reconstruction_loss": reconstruction[at], "l1_loss": l1[at],
                "std_log_reconstruction": std_rec[at], "std_log_l1": std_l1[at],
                "ssll": std_rec[at] + std_l1[at],
            })
    table = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_path(history_csv) as temporary:
        history_table(trained, generator.n_features).to_csv(temporary, index=False)
    train_config = json.loads(trained.metadata.get("train_config", "{}"))
    atomic_write_json(metrics_json, metrics_payload(table, trained.steps, config.dead_window, train_config))
    return table


def count_dead_latents_grid(trained: TrainedSweep, window: int) -> np.ndarray:
    """(n_sizes, n_l1) dead-latent counts with window T; T may not exceed the steps trained."""
    if window > trained.steps:
        raise ValueError(f"dead_window={window} exceeds the {trained.steps} training steps: lower "
                         "toy_sae.evaluate.dead_window or raise toy_sae.train.steps")
    return np.stack([count_dead_latents(counter, window).numpy() for counter in trained.steps_since_fired])


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def metrics_payload(table: pd.DataFrame, steps: int, dead_window: int, train_config: dict) -> dict:
    """The JSON form of the metrics table with headline numbers under ``summary`` (DVC reads these)."""
    ratio_one = table[np.isclose(table.dict_ratio, 1.0)]
    summary = {"steps": steps, "dead_window": dead_window, "n_models": len(table),
               "max_mmcs": float(table.mmcs.max()), "total_dead_latents": int(table.dead_latents.sum())}
    if len(ratio_one):
        best = ratio_one.loc[ratio_one.mmcs.idxmax()]
        summary.update(best_mmcs_ratio_1=float(best.mmcs), best_l1_ratio_1=float(best.l1_coefficient))
    points = [{key: (_finite_or_none(value) if isinstance(value, float) else value)
               for key, value in row.items()} for row in table.to_dict(orient="records")]
    return {"experiment": "toy_sae", "summary": summary, "train_config": train_config, "points": points}
