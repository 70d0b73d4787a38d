"""random_vs_trained's report pieces on hand-made results tables: every declared figure renders with its panels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from superposition.random_vs_trained import plots
from tests.plot_checks import check_figure, declared_figures, notebook_figures

VARIANTS = ("trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control")
SITES = ("embeddings", "resid.1", "resid.3")


def metrics() -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "site": s, "fraction_variance_explained": 0.5 + 0.1 * i,
                          "per_token_explained_variance": 0.5, "cosine_similarity": 0.8, "l0": 32.0, "l1": 10.0 + j,
                          "dead_fraction": 0.01 * j, "detection_auroc": 0.7, "fuzzing_auroc": 0.6,
                          "token_entropy": 1.0 + j} for i, v in enumerate(VARIANTS) for j, s in enumerate(SITES)])


def latents() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for v in VARIANTS:
        for s in SITES:
            for latent in range(20):
                scored = latent < 8
                rows.append({"variant": v, "site": s, "latent": latent, "activations": int(rng.integers(0, 50)),
                             "entropy": float(rng.random() * 3), "entropy_count": float(rng.random() * 3),
                             "detection_auroc": float(rng.random()) if scored else np.nan,
                             "fuzzing_auroc": float(rng.random()) if scored else np.nan})
    return pd.DataFrame(rows)


def toy() -> pd.DataFrame:
    return pd.DataFrame([{"dataset": d, "k": k, "l0": float(k), "fraction_variance_explained": 1 - 1 / (k + 1 + i)}
                         for i, d in enumerate(("sparse", "sparse_mlp", "gaussian", "gaussian_mlp"))
                         for k in (1, 4, 16)])


SUMMARY = {"history_steps": [10, 20], "history_loss": {f"{v}/{s}": [0.5, 0.3] for v in VARIANTS for s in SITES}}


def test_every_declared_figure_is_saved_by_the_notebook(repo):
    assert notebook_figures(repo, "random_vs_trained") == declared_figures(repo, "random_vs_trained") == [
        "metrics_by_site", "auroc", "entropy", "toy_pareto", "training_curves"]


def test_metrics_by_site(tmp_path):
    labels = [label for _, label in plots._METRICS]
    check_figure(plots.metrics_by_site_figure(metrics()), tmp_path / "m.png", (15, 7.5),
                 [("site", label, label) for label in labels] + [("", "", "")])


def test_auroc_and_entropy(tmp_path):
    check_figure(plots.auroc_figure(latents()), tmp_path / "a.png", (14, 5),
                 [("site", "detection AUROC per latent", "detection AUROC (token-profile proxy)"),
                  ("site", "fuzzing AUROC per latent", "fuzzing AUROC (token-profile proxy)")])
    check_figure(plots.entropy_figure(metrics(), latents(), 10), tmp_path / "e.png", (13, 4.5),
                 [("site", "mean token entropy (nats)", "token-distribution entropy of latents"),
                  ("token entropy (nats)", "latents", "distribution at resid.3")])


def test_toy_and_training_curves(tmp_path):
    axis = ("L0 (active latents per sample)", "explained variance (1 − FVU)")
    check_figure(plots.toy_pareto_figure(toy()), tmp_path / "t.png", (12, 4.5),
                 [(*axis, "(a) sparse superposed input"), (*axis, "(b) dense Gaussian input")])
    check_figure(plots.training_curves_figure(SUMMARY), tmp_path / "c.png", (12, 3.6),
                 [("step", "normalised MSE", s) for s in SITES])


def test_top_contexts_table_has_a_row_per_shown_latent():
    contexts = {"trained/resid.1": [{"latent": 3, "activating_windows": 9, "detection_auroc": 0.9,
                                     "fuzzing_auroc": None, "explanation": "'sea' (0.80)",
                                     "top_windows": ["the [sea] is blue"]}] * 3}
    table = plots.top_contexts_markdown(contexts, per_cell=2)
    assert table.count("trained/resid.1") == 2 and "[sea]" in table and "—" in table
