"""lm_sae's report pieces on tiny hand-made results folders (language-model grid and toy grid)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from superposition.claims import Claim, write_claims
from superposition.lm_sae import plots
from superposition.lm_sae.results import LmSaeResults, load_lm_sae_results
from superposition.lm_sae.tables import dead_by_window_markdown, run_summary_markdown
from tests.plot_checks import check_figure, declared_figures, notebook_figures

L1S, RATIOS, D = (0.001, 0.01, 0.1), (0.5, 1.0, 2.0), 8
# superposition.lm_sae.evaluate.METRIC_COLUMNS, copied: importing that module loads the language-model stack (slow)
METRIC_COLUMNS = ["architecture", "sparsity", "dict_ratio", "dict_size", "mmcs_with_larger", "dead_latents",
                  "dead_fraction", "reconstruction_loss", "penalty_loss", "fraction_variance_unexplained", "mean_l0",
                  "std_log_reconstruction", "std_log_penalty", "ssll"]


def grid_rows(ratio_unit: int) -> list[dict]:
    """One metrics row per grid point, with a blank MMCS-with-larger at the largest size as the evaluation writes."""
    rows = []
    for ratio, alpha in itertools.product(RATIOS, L1S):
        size = int(ratio * ratio_unit)
        dead = int(size * (alpha == 0.1))
        rows.append({"architecture": "relu_l1", "sparsity": alpha, "dict_ratio": ratio, "dict_size": size,
                     "mmcs_with_larger": np.nan if ratio == 2.0 else 0.3 + alpha, "mmcs": 0.8, "dead_latents": dead,
                     "dead_fraction": dead / size, "reconstruction_loss": 1e-4 * (1 + alpha),
                     "penalty_loss": 1e-5 * alpha,
                     "fraction_variance_unexplained": 0.1 + alpha, "std_log_reconstruction": alpha,
                     "std_log_penalty": -alpha, "ssll": 0.5 - alpha, "mean_l0": 4.0})
    return rows


def write_lm_sae_results(folder: Path) -> tuple[Path, Path]:
    """results/lm_sae and results/toy_sae folders shaped like the evaluation and claims rules' files."""
    lm, toy = folder / "lm_sae", folder / "toy_sae"
    lm.mkdir(parents=True)
    toy.mkdir(parents=True)
    pd.DataFrame(grid_rows(D), columns=METRIC_COLUMNS).to_csv(lm / "metrics.csv", index=False)
    pd.DataFrame(grid_rows(16)).to_csv(toy / "metrics.csv", index=False)
    history = [{"step": step, "architecture": "relu_l1", "sparsity": alpha, "dict_ratio": ratio,
                "reconstruction_loss": 1e-3 / step, "penalty_loss": alpha / step}
               for step, ratio, alpha in itertools.product((25, 50), RATIOS, L1S)]
    pd.DataFrame(history).to_csv(lm / "history.csv", index=False)
    (lm / "metrics.json").write_text(json.dumps({
        "experiment": "lm_sae",
        "summary": {"steps": 50, "dead_window": 20, "n_models": 9, "eval_tokens": 2048, "scale": 0.119435,
                    "target_norm": 1.0, "dead_by_window": {"6": 30, "12": 12, "20": 7, "25": 5, "50": 2}},
        "activations": {"model": "tiny", "variant": "trained", "site": "mlp.1", "d": D, "token_count": 12345,
                        "weights_sha256": "0123456789abcdef", "corpus_sha256": "f" * 64},
        "train_config": {"architecture": "relu_l1", "sparsities": list(L1S), "dict_ratios": list(RATIOS),
                         "batch_size": 32, "steps": 50,
                         "lr": 0.001},
        "points": []}))
    write_claims(lm / "claims.json", "lm_sae", "A paper", [
        Claim("fig11_dead", "Dead latents grow with α.", "Figure 11", "more dead at large α", "rule", {}, "yes", True),
        Claim("fig13_peak", "MMCS peaks.", "Figure 13", "peak at the right size", "rule", {}, "peak at ×0.5",
              False).diagnosed("scale_limited", "This tier trains 50 training steps (report: 20,000)."),
    ])
    return lm, toy


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> LmSaeResults:
    return load_lm_sae_results(*write_lm_sae_results(tmp_path_factory.mktemp("results")))


def test_loader_reads_both_grids(run):
    assert len(run.metrics) == len(run.toy_metrics) == 9 and len(run.history) == 18
    assert run.summary["activations"]["d"] == D and run.claims["n_passed"] == 1


LM = "L1 coefficient α (log scale)", "dictionary size / d (log scale)"
TOY = "L1 coefficient α (log scale)", "dictionary size / G (log scale)"
FIGURES = [
    ("dead_latents", lambda r: plots.dead_latents_figure(r.metrics, r.toy_metrics), (12, 4.5),
     [(*LM, "language model: dead latents"), (*TOY, "toy data: dead latents")], ""),
    ("ssll", lambda r: plots.ssll_figure(r.metrics, r.toy_metrics), (12, 4.5),
     [(*LM, "language model: SSLL"), (*TOY, "toy data: SSLL")], ""),
    ("mmcs_with_larger", lambda r: plots.mmcs_with_larger_figure(r.metrics, r.toy_metrics), (12, 4.5),
     [(*LM, "language model: MMCS with larger dictionaries"), (*TOY, "toy data: MMCS with larger dictionaries")], ""),
    ("fraction_variance_unexplained", lambda r: plots.fraction_variance_unexplained_figure(r.metrics), (6, 4.5),
     [(*LM, "language model: FVU (held out)")], ""),
    ("training_curves", lambda r: plots.training_curves_figure(r.history, r.metrics), (12, 4),
     [("step", "reconstruction loss (1/d)‖x − x̂‖²", ""), ("step", "L1 loss (α/J)‖c‖₁", "")],
     "training losses (colour: α; line style: dictionary size)"),
]


@pytest.mark.parametrize(("name", "draw", "size", "panels", "title"), FIGURES, ids=[f[0] for f in FIGURES])
def test_every_figure_renders_and_saves(run, tmp_path, name, draw, size, panels, title):
    check_figure(draw(run), tmp_path / f"{name}.png", size, panels, title)


def test_the_notebook_saves_every_declared_figure_and_these_tests_draw_them_all(repo):
    assert notebook_figures(repo, "lm_sae") == declared_figures(repo, "lm_sae") == [name for name, *_ in FIGURES]


def test_training_curves_colour_by_alpha_and_style_by_size(run):
    lines = plots.training_curves_figure(run.history, run.metrics).axes[1].lines
    assert len(lines) == 9 and {line.get_linestyle() for line in lines} == {":", "-", "--"}
    assert lines[0].get_label() == "α 0.001, J/d 0.5"


def test_a_single_alpha_grid_still_draws(run):
    single = run.history[run.history.sparsity == 0.01]
    plots.training_curves_figure(single, run.metrics[run.metrics.sparsity == 0.01])


def test_run_summary_and_failures(run):
    assert run_summary_markdown(run.summary) == (
        "**Activations:** model `tiny` (trained), site `mlp.1`, d = 8, 12,345 tokens cached (weights sha256 "
        "`0123456789ab…`). **Grid:** relu_l1 SAEs, sparsity values (L1 coefficients for relu_l1) ∈ [0.001, 0.01, "
        "0.1], J/d ∈ [0.5, 1.0, 2.0], 50 Adam steps of batch 32 at "
        "lr 0.001; activations scaled by 0.1194 to mean norm 1.0. Dead latents: no activation in the last T = 20 "
        "training batches. Held-out losses on 2,048 tokens of the last shard (never trained on).")
    assert dead_by_window_markdown(run.summary) == (
        "| window T (batches) | dead latents over the grid |\n|---|---|\n| 6 | 30 |\n| 12 | 12 |\n| 20 | 7 |\n"
        "| 25 | 5 |\n| 50 | 2 |")
