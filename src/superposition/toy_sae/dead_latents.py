"""Appendix to Figure 4 of experiment `toy_sae`: dead latents against the learning rate and the window T.

The report (Figure 4) finds no dead latent at J = G up to α = 0.177; our default tier trains 4.5× shorter at 3× the
report's learning rate and finds a few. This appendix decides between the two candidate causes with the run's own
data: it retrains the claim's cells at another learning rate (the report's 1e-3), for a length of its own (the
sweep's in the default tier; the report's 20,000 steps decide the claim), from the same initialisations on the same
batches (a model's initialisation depends only on its seed, size and α; see ``sae.base.model_seed``), and
counts dead latents over several windows T in both runs, from each latent's steps since it last fired.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pandas as pd

from superposition.io import atomic_path
from superposition.sweep import TrainedSweep, load_sweep
from superposition.sweep_config import SweepTrainConfig
from superposition.toy_sae.config import ToyDeadLatentsConfig
from superposition.toy_sae.ground_truth import load_ground_truth
from superposition.toy_sae.train import train_toy_sweep

__all__ = ["appendix_train_config", "dead_latents_by_window", "run_dead_latents_appendix"]

log = logging.getLogger(__name__)


def appendix_train_config(train: SweepTrainConfig, appendix: ToyDeadLatentsConfig) -> SweepTrainConfig:
    """The sweep's settings restricted to the appendix's cells, at the appendix's learning rate and length."""
    return dataclasses.replace(train, lr=appendix.lr, steps=appendix.steps, dict_ratios=appendix.dict_ratios,
                               sparsities=appendix.sparsities)


def dead_latents_by_window(trained: TrainedSweep, size_unit: int, appendix: ToyDeadLatentsConfig,
                           lr: float) -> pd.DataFrame:
    """One row per (cell of the appendix, window T): lr, steps (the run's length), dict_ratio, sparsity, window,
    dead_latents (latents that did not fire in the last T batches), dict_size, and the first and last of the steps
    at which they last fired (0: never fired after initialisation)."""
    rows = []
    for point in trained.points():
        ratio = point.dict_size / size_unit
        if ratio not in appendix.dict_ratios or point.sparsity not in appendix.sparsities:
            continue
        since = trained.steps_since_fired[point.architecture, point.dict_size][point.sparsity_index]
        for window in appendix.windows:
            silent = since[since >= window]
            rows.append({"lr": lr, "steps": trained.steps, "dict_ratio": ratio, "sparsity": point.sparsity,
                         "window": window, "dict_size": point.dict_size, "dead_latents": int(len(silent)),
                         "earliest_last_fired_step": int(trained.steps - silent.max()) if len(silent) else None,
                         "latest_last_fired_step": int(trained.steps - silent.min()) if len(silent) else None})
    return pd.DataFrame(rows)


def run_dead_latents_appendix(ground_truth: Path, sweep: Path, train: SweepTrainConfig,
                              appendix: ToyDeadLatentsConfig, device: str, output_sweep: Path,
                              output_csv: Path) -> pd.DataFrame:
    """Retrain the appendix's cells at ``appendix.lr`` (saved to ``output_sweep``) and write the dead-latent counts
    of both runs, the sweep's (at ``train.lr``) and the retraining's, to ``output_csv``."""
    log.info("retraining %d cells for %d steps at lr %g (the sweep: %d steps at lr %g)", len(appendix.dict_ratios) *
             len(appendix.sparsities), appendix.steps, appendix.lr, train.steps, train.lr)
    retrained = train_toy_sweep(ground_truth, appendix_train_config(train, appendix), device, output_sweep)
    n_features = load_ground_truth(ground_truth).n_features  # G: dictionary sizes are ratios of it
    table = pd.concat([dead_latents_by_window(load_sweep(sweep), n_features, appendix, train.lr),
                       dead_latents_by_window(retrained, n_features, appendix, appendix.lr)], ignore_index=True)
    with atomic_path(output_csv) as tmp:
        table.to_csv(tmp, index=False)
    return table
