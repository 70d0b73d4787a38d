"""toy_sae's report pieces on a tiny hand-made results folder: every figure, the settings table, the diagnosis."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from superposition.claims import Claim, write_claims
from superposition.toy_sae import architecture_plots, plots
from superposition.toy_sae.diagnosis import dead_latents_evidence, diagnose, mmcs_with_larger_evidence
from superposition.toy_sae.evaluate import METRIC_COLUMNS
from superposition.toy_sae.results import ToySaeResults, load_toy_sae_results
from superposition.toy_sae.architectures import COMPARISON_COLUMNS
from superposition.toy_sae.tables import architectures_markdown, settings_markdown
from tests.plot_checks import check_figure, declared_figures, notebook_figures

L1S, RATIOS, G = (0.01, 0.1, 1.0), (0.5, 1.0, 2.0), 16
TRAIN = {"steps": 40, "lr": 0.003, "batch_size": 32, "architecture": "relu_l1", "sparsities": list(L1S),
         "dict_ratios": list(RATIOS)}
ARCHITECTURES = {"relu_l1": (0.03, 0.3), "topk": (2.0, 5.0), "batchtopk": (2.0, 5.0), "jumprelu": (0.003, 0.03)}


def write_toy_results(folder: Path) -> Path:
    """A results/toy_sae folder shaped like the evaluation and claims rules' files, on a 3 × 3 grid."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for ratio, alpha in itertools.product(RATIOS, L1S):
        reconstruction, l1 = 0.01 * (1 + 10 * alpha), 0.0 if alpha == 1.0 else 0.02 * alpha  # all latents off at α 1
        rows.append({"architecture": "relu_l1", "sparsity": alpha, "dict_ratio": ratio, "dict_size": int(G * ratio),
                     "mmcs": 0.9 - 0.2 * abs(np.log10(alpha) + 1) - (0.3 if ratio == 0.5 else 0.0),
                     "mmcs_with_larger": np.nan if ratio == 2.0 else 0.6 + 0.2 * (ratio == 1.0),
                     "mmcs_with_next_larger": np.nan if ratio == 2.0 else 0.5 + 0.3 * (ratio == 0.5),
                     "dead_latents": int(alpha == 0.1 and ratio == 1.0) + int(8 * ratio * (alpha == 1.0)),
                     "reconstruction_loss": reconstruction, "penalty_loss": l1,
                     "std_log_reconstruction": np.log(reconstruction),
                     "std_log_penalty": -1.0 if l1 == 0 else np.log(l1), "ssll": 0.0, "mean_l0": 5.0,
                     "fraction_variance_unexplained": 0.1})
    pd.DataFrame(rows, columns=METRIC_COLUMNS).to_csv(folder / "metrics.csv", index=False)
    history = [{"step": step, "architecture": "relu_l1", "sparsity": alpha, "dict_ratio": ratio,
                "reconstruction_loss": 0.1 / step, "penalty_loss": 0.0 if alpha == 1.0 else alpha / step}
               for step, ratio, alpha in itertools.product((10, 20, 30, 40), RATIOS, L1S)]
    pd.DataFrame(history).to_csv(folder / "training_history.csv", index=False)
    recovery = [{"architecture": "relu_l1", "sparsity": alpha, "dict_ratio": ratio, "frequency_group": group,
                 "mmcs": 1.0 - 0.1 * group}
                for ratio, alpha, group in itertools.product(RATIOS, L1S, range(8))]
    pd.DataFrame(recovery).to_csv(folder / "recovery_by_frequency.csv", index=False)
    comparison = [{"architecture": arch, "sparsity": value, "dict_ratio": ratio, "dict_size": int(G * ratio),
                   "mean_l0": value if arch in ("topk", "batchtopk") else 3.0 / (1 + index), "mmcs": 0.5 + 0.1 * index,
                   "fraction_variance_unexplained": 0.3 - 0.1 * index, "reconstruction_loss": 0.01, "dead_latents": 0}
                  for arch, values in ARCHITECTURES.items() for ratio in (1.0, 2.0)
                  for index, value in enumerate(values)]
    (folder / "architectures").mkdir(exist_ok=True)
    pd.DataFrame(comparison, columns=COMPARISON_COLUMNS).to_csv(folder / "architectures" / "metrics.csv", index=False)
    (folder / "dead_latents").mkdir(exist_ok=True)
    appendix = [{"lr": lr, "steps": 40, "dict_ratio": 1.0, "sparsity": 0.1, "window": window, "dict_size": 16,
                 "dead_latents": dead if window == 10 else 0, "earliest_last_fired_step": 25 if dead else None,
                 "latest_last_fired_step": 25 if dead else None}
                for lr, dead in ((0.003, 1), (0.001, 0)) for window in (5, 10, 20)]
    pd.DataFrame(appendix).to_csv(folder / "dead_latents" / "dead_latents_by_lr.csv", index=False)
    (folder / "metrics.json").write_text(json.dumps(
        {"experiment": "toy_sae", "summary": {"steps": 40, "dead_window": 10, "n_models": 9}, "train_config": TRAIN,
         "points": []}))
    write_claims(folder / "claims.json", "toy_sae", "A paper", [
        Claim("fig1_goldilocks", "A zone.", "Figure 1", "0.03–0.3", "MMCS ≥ 0.9", {}, "best 0.9", True),
        Claim("fig4_dead_latents", "None dead.", "Figure 4", "0 dead", "no dead at ×≤1", {}, "1 dead", False,
              note="see the figure").diagnosed("scale_limited", "This tier trains 40 steps."),
    ])
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> ToySaeResults:
    return load_toy_sae_results(write_toy_results(tmp_path_factory.mktemp("toy_sae")))


def test_loader_reads_every_file(run):
    assert len(run.metrics) == 9 and len(run.history) == 36 and len(run.recovery) == 72
    assert run.dead_window == 10 and run.train_config["lr"] == 0.003 and run.claims["n_claims"] == 2


GRID = "L1 coefficient α (log scale)", "dictionary size / G (log scale)"
FIGURES = [
    ("fig01_mmcs_vs_l1", lambda r: plots.mmcs_vs_l1_figure(r.metrics), (5.5, 3.6),
     [("L1 coefficient α", "MMCS with ground truth", "Fig. 1: MMCS vs α (J = G)")], ""),
    ("fig02_mmcs_vs_ratio", lambda r: plots.mmcs_vs_ratio_figure(r.metrics), (5.5, 3.6),
     [("dictionary size J / G", "MMCS with ground truth", "Fig. 2: MMCS vs dictionary size (α = 0.1)")], ""),
    ("fig03_mmcs_heatmap", lambda r: plots.mmcs_heatmap_figure(r.metrics), (7, 4.2),
     [(*GRID, "Fig. 3: MMCS with ground truth")], ""),
    ("fig04_dead_latents", lambda r: plots.dead_latents_figure(r.metrics, r.dead_window), (7, 4.2),
     [(*GRID, "Fig. 4: dead latents (T = 10, capped at 100)")], ""),
    ("fig04b_dead_latents_by_lr", lambda r: plots.dead_latents_by_lr_figure(r.dead_latents, r.dead_window),
     (5.5, 3.6), [("window T (training batches)", "dead latents",
                   "Fig. 4 appendix: dead latents by training recipe and window")], ""),
    ("fig05_reconstruction_loss", lambda r: plots.loss_vs_l1_figure(r.metrics, "reconstruction_loss"), (5.5, 3.6),
     [("L1 coefficient α", "reconstruction loss", "Fig. 5: reconstruction loss (J = G)")], ""),
    ("fig06_l1_loss", lambda r: plots.loss_vs_l1_figure(r.metrics, "penalty_loss"), (5.5, 3.6),
     [("L1 coefficient α", "L1 loss", "Fig. 6: L1 loss (J = G)")], ""),
    ("fig07_std_log_reconstruction", lambda r: plots.standardized_loss_figure(r.metrics, "std_log_reconstruction"),
     (7, 4.2), [(*GRID, "Fig. 7: standardized log reconstruction loss")], ""),
    ("fig08_std_log_l1", lambda r: plots.standardized_loss_figure(r.metrics, "std_log_penalty"), (7, 4.2),
     [(*GRID, "Fig. 8: standardized log L1 loss")], ""),
    ("fig09_ssll", lambda r: plots.standardized_loss_figure(r.metrics, "ssll"), (7, 4.2),
     [(*GRID, "Fig. 9: SSLL (sum of the two)")], ""),
    ("fig10_mmcs_with_larger", lambda r: plots.mmcs_with_larger_figure(r.metrics), (7, 4.2),
     [(*GRID, "Fig. 10: MMCS with larger dictionaries")], ""),
    ("fig10b_mmcs_with_next_larger", lambda r: plots.mmcs_with_next_larger_figure(r.metrics), (7, 4.2),
     [(*GRID, "Fig. 10, authors' code: MMCS with the next larger dictionary")], ""),
    ("training_curves", lambda r: plots.training_curves_figure(r.history), (10, 3.6),
     [("step", "reconstruction loss", ""), ("step", "L1 loss", "")], "Training losses at J = G (training batches)"),
    ("recovery_by_frequency", lambda r: plots.recovery_by_frequency_figure(r.metrics, r.recovery), (6, 3.8),
     [("feature group by frequency (0 = most frequent)", "MMCS within the group",
       "Recovery of ground-truth features by frequency")], ""),
    ("architectures_mmcs_vs_l0", lambda r: architecture_plots.mmcs_vs_l0(r.architectures), (10.4, 3.8),
     [("mean L0 on held-out data (log scale)", "MMCS with ground truth", "J / G = 1"),
      ("mean L0 on held-out data (log scale)", "", "J / G = 2")], "Ground-truth recovery against sparsity"),
    ("architectures_fvu_vs_l0", lambda r: architecture_plots.fvu_vs_l0(r.architectures), (10.4, 3.8),
     [("mean L0 on held-out data (log scale)", "fraction of variance unexplained", "J / G = 1"),
      ("mean L0 on held-out data (log scale)", "", "J / G = 2")], "Reconstruction against sparsity"),
]


@pytest.mark.parametrize(("name", "draw", "size", "panels", "title"), FIGURES, ids=[f[0] for f in FIGURES])
def test_every_figure_renders_and_saves(run, tmp_path, name, draw, size, panels, title):
    check_figure(draw(run), tmp_path / f"{name}.png", size, panels, title)


def test_the_notebook_saves_every_declared_figure_and_these_tests_draw_them_all(repo):
    declared = declared_figures(repo, "toy_sae")
    assert notebook_figures(repo, "toy_sae") == declared == [name for name, *_ in FIGURES]


def test_zero_l1_losses_are_left_off_the_log_axis(run):
    line = plots.loss_vs_l1_figure(run.metrics, "penalty_loss").axes[0].lines[0]
    assert list(line.get_xdata()) == [0.01, 0.1]


def test_nearest_l1_is_nearest_on_a_log_scale():
    assert plots.nearest_l1([0.01, 0.0316, 0.4], 0.1) == 0.0316
    assert plots.nearest_l1([0.05, 0.3], 0.1) == 0.05


def test_settings_table_names_the_deviation(run):
    assert settings_markdown(run.train_config, run.dead_window) == (
        "| setting | this run | paper tier (authors' code) |\n|---|---|---|\n"
        "| steps | 40 | 20000 |\n| lr | 0.003 | 0.001 |\n| batch_size | 32 | 256 |\n"
        "| architecture | relu_l1 | relu_l1 (the report's SAE) |\n"
        "| sparsity values (L1 coefficients for relu_l1) | 0.01, 0.1, 1 | 10^(k/4), k = −8..8 |\n"
        "| dictionary ratios J/G | 0.5, 1, 2 | 2^−2 .. 2^5 |\n"
        "| dead-neuron window T | 10 | 500 |\n\n"
        "**Deviation from the paper:** steps = 40 (paper tier 20000), lr = 0.003 (paper tier 0.001). The default tier "
        "trades steps for a larger learning rate to finish in minutes on a CPU; the paper tier "
        "(`--configfile configs/paper.yaml`) uses the paper's values.")
    paper = {**run.train_config, "steps": 20000, "lr": 0.001}
    assert settings_markdown(paper, 500).endswith("| dead-neuron window T | 500 | 500 |\n\nPaper settings.")


def test_dead_latent_evidence_lists_the_dead_latents_and_the_learning_rate(run):
    assert dead_latents_evidence(run.metrics, run.train_config) == (
        "Dead latents where the report has none: 1 of 16 latents (6.2 %) at ×1, α = 0.1, all at α ≥ 0.1, close to "
        "where the report's dead-free region ends (α ≈ 0.177 at ×1).")


def test_failures_are_diagnosed_from_the_runs_own_data(run):
    failed = next(c for c in run.claims["claims"] if c["id"] == "fig4_dead_latents")
    claim = Claim(**{key: failed[key] for key in ("id", "statement", "source", "paper_value", "rule", "measured",
                                                  "measured_summary", "passed")})
    diagnosed = diagnose(claim, run.metrics, run.recovery, run.train_config)
    assert diagnosed.diagnosis == "scale_limited"
    assert diagnosed.evidence.startswith("This tier trains with steps = ") and "Dead latents where the report" in \
        diagnosed.evidence
    at_paper = diagnose(claim, run.metrics, run.recovery, {**run.train_config, "steps": 20000, "lr": 0.001})
    assert at_paper.diagnosis == "open"
    # With the Figure 4 appendix: the dead latent is gone at the report's learning rate, so this tier's causes it.
    with_appendix = diagnose(claim, run.metrics, run.recovery, run.train_config, run.dead_latents, run.dead_window)
    assert with_appendix.diagnosis == "scale_limited" and ("lr 0.001, 40 steps: 0 dead at ×1, α = 0.1"
                                                           in with_appendix.evidence)
    assert "they last fired at step 25" in with_appendix.evidence


def test_mmcs_with_larger_evidence_compares_frequent_and_rare_halves_at_the_peak(run):
    assert mmcs_with_larger_evidence(run.metrics, run.recovery).startswith(
        "The peak sits at ×1, α = 0.01. That dictionary recovers the more frequent half of the features (MMCS 0.85) "
        "and misses the rarer half (0.45); the larger dictionaries")


def test_architecture_comparison_draws_one_curve_per_architecture_and_a_best_table(run):
    figure = architecture_plots.mmcs_vs_l0(run.architectures)
    for ax in figure.axes:
        labels = [line.get_label() for line in ax.lines]
        assert labels == ["relu_l1: L1 coefficient α", "topk: k (active latents per sample)",
                          "batchtopk: k (mean active latents per sample)", "jumprelu: L0 coefficient λ",
                          "true mean L0 (5)"]
    table = architectures_markdown(run.architectures)
    assert table.startswith("Best MMCS of each architecture at J = G:") and table.count("\n| ") == 5
