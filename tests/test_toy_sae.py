"""The toy_sae stages as library calls on a tiny configuration."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from superposition.metrics import mmcs
from superposition.sae import AdamSettings, ArchitectureOptions
from superposition.sweep import load_sweep
from superposition.sweep_config import SweepTrainConfig
from superposition.toy_sae.config import ToyDataConfig, ToyDeadLatentsConfig, ToyEvaluateConfig
from superposition.toy_sae.dead_latents import run_dead_latents_appendix
from superposition.toy_sae.evaluate import METRIC_COLUMNS, evaluate_toy_sweep
from superposition.toy_sae.ground_truth import load_ground_truth, make_ground_truth
from superposition.toy_sae.train import dict_sizes, train_toy_sweep

DATA = ToyDataConfig(n_features=16, dim=8, mean_active=2.0, decay=0.99, seed=0)
TRAIN = SweepTrainConfig(architecture="relu_l1", sparsities=(0.03, 0.3), dict_ratios=(0.5, 1.0, 2.0), batch_size=32,
                         steps=40, lr=3e-3, adam=AdamSettings(), seed=0, data_seed=1, log_every=10,
                         options=ArchitectureOptions())
EVALUATE = ToyEvaluateConfig(dead_window=10, eval_samples=256, eval_seed=2)


@pytest.fixture(scope="module")
def stage_outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy_sae")
    make_ground_truth(DATA, folder / "ground_truth.safetensors")
    train_toy_sweep(folder / "ground_truth.safetensors", TRAIN, "cpu", folder / "sweep.safetensors", progress=False)
    table = evaluate_toy_sweep(folder / "ground_truth.safetensors", folder / "sweep.safetensors", EVALUATE,
                               folder / "metrics.csv", folder / "metrics.json", folder / "history.csv",
                               folder / "recovery.csv")
    return folder, table


def test_ground_truth_round_trip(tmp_path):
    made = make_ground_truth(DATA, tmp_path / "gt.safetensors")
    loaded = load_ground_truth(tmp_path / "gt.safetensors")
    torch.testing.assert_close(loaded.features, made.features)
    torch.testing.assert_close(loaded.covariance_cholesky, made.covariance_cholesky)
    assert (loaded.decay, loaded.mean_active) == (0.99, 2.0)


def test_dict_sizes_must_be_whole():
    assert dict_sizes(512, (0.25, 1.0, 32.0)) == (128, 512, 16384)
    with pytest.raises(ValueError, match="whole number"):
        dict_sizes(10, (0.25,))


def test_metrics_table_covers_the_grid_with_consistent_values(stage_outputs):
    folder, table = stage_outputs
    assert list(table.columns) == METRIC_COLUMNS and len(table) == 6
    assert set(zip(table.sparsity, table.dict_ratio)) == {(a, r) for a in (0.03, 0.3) for r in (0.5, 1.0, 2.0)}
    assert (table.architecture == "relu_l1").all()
    # MMCS in the table is the metric on the saved decoder.
    sweep, generator = load_sweep(folder / "sweep.safetensors"), load_ground_truth(folder / "ground_truth.safetensors")
    row = table[(table.sparsity == 0.3) & (table.dict_ratio == 2.0)].iloc[0]
    assert row.mmcs == pytest.approx(mmcs(sweep.stacks["relu_l1", 32].w_dec[1], generator.features), abs=1e-6)
    np.testing.assert_allclose(table.ssll, table.std_log_reconstruction + table.std_log_penalty)
    assert ((table.fraction_variance_unexplained > 0) & (table.mean_l0 > 0)).all()
    assert table[table.dict_ratio == 2.0].mmcs_with_larger.isna().all()
    assert table[table.dict_ratio < 2.0].mmcs_with_larger.notna().all()
    assert pd.read_csv(folder / "metrics.csv").shape == table.shape


def test_metrics_json_records_the_training_config(stage_outputs):
    folder, _ = stage_outputs
    payload = json.loads((folder / "metrics.json").read_text())
    assert payload["train_config"]["steps"] == 40 and payload["summary"]["n_models"] == 6
    assert payload["summary"]["best_sparsity_ratio_1"] in (0.03, 0.3)


def test_history_and_recovery_tables(stage_outputs):
    folder, table = stage_outputs
    history = pd.read_csv(folder / "history.csv")
    assert sorted(history.step.unique()) == [10, 20, 30, 40] and len(history) == 4 * 6
    recovery = pd.read_csv(folder / "recovery.csv")
    assert sorted(recovery.frequency_group.unique()) == list(range(8))
    # Groups of equal size: their mean is the overall MMCS.
    means = recovery.groupby(["sparsity", "dict_ratio"]).mmcs.mean()
    for row in table.itertuples():
        assert means[(row.sparsity, row.dict_ratio)] == pytest.approx(row.mmcs, abs=1e-6)


def test_dead_window_longer_than_training_is_refused(tmp_path, stage_outputs):
    folder, _ = stage_outputs
    with pytest.raises(ValueError, match="dead_window"):
        evaluate_toy_sweep(folder / "ground_truth.safetensors", folder / "sweep.safetensors",
                           ToyEvaluateConfig(dead_window=41, eval_samples=8, eval_seed=0), tmp_path / "m.csv",
                           tmp_path / "m.json", tmp_path / "h.csv", tmp_path / "r.csv")


def test_dead_latents_appendix_retrains_the_same_models_and_counts_by_window(stage_outputs, tmp_path):
    folder, table = stage_outputs
    # At the sweep's own learning rate the retraining must reproduce the sweep's cells: same initialisations (a
    # model's seed depends only on J and α) and the same batches.
    same_lr = ToyDeadLatentsConfig(lr=TRAIN.lr, dict_ratios=(1.0,), sparsities=(0.3,), windows=(1, 10, 40),
                                   steps=TRAIN.steps)
    counts = run_dead_latents_appendix(folder / "ground_truth.safetensors", folder / "sweep.safetensors", TRAIN,
                                       same_lr, "cpu", tmp_path / "sweep.safetensors",
                                       tmp_path / "dead.csv")
    sweep, retrained = load_sweep(folder / "sweep.safetensors"), load_sweep(tmp_path / "sweep.safetensors")
    torch.testing.assert_close(retrained.stacks["relu_l1", 16].w_dec[0], sweep.stacks["relu_l1", 16].w_dec[1])
    assert pd.read_csv(tmp_path / "dead.csv").equals(counts)
    assert list(counts.lr) == [TRAIN.lr] * 6 and list(counts.window) == [1, 10, 40] * 2
    assert list(counts.steps) == [TRAIN.steps] * 6
    assert (counts.iloc[:3].dead_latents.to_numpy() == counts.iloc[3:].dead_latents.to_numpy()).all()
    # Known answer from the counters: dead(T) = #{latents silent for ≥ T batches}; T = 10 is the evaluation's.
    since = sweep.steps_since_fired["relu_l1", 16][1]
    assert counts.dead_latents.tolist()[:3] == [int((since >= t).sum()) for t in (1, 10, 40)]
    assert counts.dead_latents.iloc[1] == table[(table.dict_ratio == 1.0) & (table.sparsity == 0.3)].dead_latents.item()
    assert counts.dead_latents.iloc[:3].is_monotonic_decreasing  # a longer window never counts more latents

