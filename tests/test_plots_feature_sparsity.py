"""feature_sparsity's report pieces on a tiny hand-made results folder: every figure and every table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from superposition.claims import Claim, write_claims
from superposition.feature_sparsity import plots, tables
from superposition.feature_sparsity.results import (
    FeatureSparsityResults,
    dataset_label,
    load_feature_sparsity_results,
    separation_rows,
)
from tests.plot_checks import check_figure, declared_figures, notebook_figures

METRICS = ("n0", "final_loss", "s1", "normalized_loss", "variance_explained", "average_max_coefficient", "lambda")


def metric_row(scale: float, **fields) -> dict:
    """One coded dataset's metrics (measure_codes' keys), all proportional to ``scale``."""
    return {**{name: scale * (i + 1) / 10 for i, name in enumerate(METRICS)}, "variance_explained": 0.95, **fields}


def synthetic_setting(name: str, figure: str, d: int, actives: tuple[float, ...]) -> dict:
    """A ``synthetic/<setting>.json`` payload: sparse linear datasets, then the three controls."""
    rows = [metric_row(a, dataset=f"sparse_a{a:g}", kind="sparse_linear", active=a, true_sparsity=a / 2,
                       lambda_history=[0.1, 0.12], hit_max_active=0.0) for a in actives]
    rows += [metric_row(30.0, dataset=kind, kind=kind, active=None, true_sparsity=None, lambda_history=[0.1],
                        hit_max_active=None) for kind in ("gaussian", "heavy_tailed", "rademacher")]
    return {"setting": name, "d": d, "dict_ratio": 8, "sigma": 0.1, "features_per_dim": 4, "figure": figure,
            "n_samples": 512, "rows": rows}


def embedding_payload(model: str, d: int) -> dict:
    return {"model": model, "d": d, "vocab": 1000, "dict_size": 8 * d,
            "rows": [metric_row(d / 16, dataset="embeddings"), metric_row(d / 4, dataset="gaussian")]}


def layer_payload(model: str, d: int) -> dict:
    sites = ["embeddings", "resid.0", "resid.1"]
    return {"model": model, "d": d, "dict_size": 16 * d, "n_tokens": 256, "train_lambda": 0.1,
            "decompose_lambda": 0.01, "reached_target": False,
            "candidates": [{"lambda": 0.02, "variance_explained": [0.97, 0.96, 0.95]},
                           {"lambda": 0.01, "variance_explained": [0.99, 0.98, 0.975]}],
            "rows": [metric_row(depth + 1, site=site, depth=depth) for depth, site in enumerate(sites)]}


FEATURES = {"model": "tiny", "lambda": 0.0347, "words": [
    {"word": "season", "token_id": 7, "active_features": 2, "nearest_tokens": ["seasons", "a|b"],
     "features": [{"feature": 3, "coefficient": 0.2956, "top_tokens": ["aired", "tv`s"]}]},
    {"word": "the", "token_id": 1, "active_features": 0, "features": [], "nearest_tokens": []},
]}


def write_feature_sparsity_results(folder: Path) -> Path:
    """A results/feature_sparsity folder: main + one ablation, two embedding models, one layer model, features."""
    for sub in ("synthetic", "embeddings", "layers"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for payload in (synthetic_setting("main", "Fig 1", 16, (2.0, 5.0, 10.0, 20.0)),
                    synthetic_setting("noise", "Fig 6", 16, (2.0, 10.0))):
        (folder / "synthetic" / f"{payload['setting']}.json").write_text(json.dumps(payload))
    for model, d in (("wide", 32), ("small", 16), ("small2", 16)):
        (folder / "embeddings" / f"{model}.json").write_text(json.dumps(embedding_payload(model, d)))
    (folder / "layers" / "tiny.json").write_text(json.dumps(layer_payload("tiny", 16)))
    (folder / "features.json").write_text(json.dumps(FEATURES))
    (folder / "appendix").mkdir()
    (folder / "appendix" / "separation_check.json").write_text(json.dumps(SEPARATION_CHECK))
    write_claims(folder / "claims.json", "feature_sparsity", "A paper", [
        Claim("fig1a_tracks", "S₁ tracks a/2.", "Figure 1a", "S₁ ≈ a/2", "|S₁ − a/2| ≤ 30 %", {}, "off", False,
              note="smaller d").diagnosed("scale_limited", "This tier runs d = 16."),
        Claim("fig3_u_shape", "U-shaped.", "Figure 3", "U", "rule", None, "—", None, note="untestable here: 1 model"),
    ])
    return folder


SEPARATION_CHECK = {"setting": "main", "active": 20.0, "runs": [
    {"variant": "random_unit_init", "dataset": "sparse_a20", "n_samples": 512, "s1": 9.5, "normalized_loss": 10.0},
    {"variant": "random_unit_init", "dataset": "heavy_tailed", "n_samples": 512, "s1": 9.1, "normalized_loss": 9.6},
    {"variant": "large_heavy_tailed", "dataset": "heavy_tailed", "n_samples": 1024, "s1": 9.2,
     "normalized_loss": 9.9}]}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> FeatureSparsityResults:
    return load_feature_sparsity_results(write_feature_sparsity_results(tmp_path_factory.mktemp("feature_sparsity")))


def test_loader_orders_main_first_and_models_by_size(run):
    assert list(run.synthetic) == ["main", "noise"] and list(run.ablations) == ["noise"]
    assert [p["model"] for p in run.embeddings] == ["small", "small2", "wide"]
    assert run.main["d"] == 16 and run.features["model"] == "tiny"


def test_separation_rows_prefer_the_papers_a_and_fall_back_to_all(run):
    sparse, controls = separation_rows(run.main)
    assert [r["active"] for r in sparse] == [5.0, 10.0, 20.0] and len(controls) == 3
    assert [r["active"] for r in separation_rows(run.main, active=(3.0,))[0]] == [2.0, 5.0, 10.0, 20.0]
    assert [dataset_label(r) for r in controls] == ["Gaussian", "heavy-tailed", "Rademacher"]


DEPTH = "depth (0 = embedding layer)"
FIGURES = [
    ("fig1a_true_sparsity", lambda r: plots.true_sparsity_figure(r.main), (11, 9),
     [("true sparsity a/2 (log scale)", f"{name} (log scale)", name) for name in
      ("non-zero entries N₀", "final loss L", "average coefficient norm S₁", "normalized loss L_norm")],
     "Figure 1a, main setting (d = 16, dictionary 8d, σ = 0.1)"),
    ("fig1b_separation", lambda r: plots.separation_figure(r.main), (12, 4.5),
     [("", "average coefficient norm S₁", "average coefficient norm S₁"),
      ("", "normalized loss L_norm", "normalized loss L_norm")],
     "Figure 1b, main setting: sparse linear (blue) vs controls (red)"),
    ("fig4_n0_final_loss", lambda r: plots.n0_final_loss_figure(r.main), (12, 4.5),
     [("", "non-zero entries N₀", "non-zero entries N₀"), ("", "final loss L", "final loss L")],
     "Figure 4, main setting: sparse linear (blue) vs controls (red)"),
    ("ablations", lambda r: plots.ablations_figure(r.main, r.ablations), (13, 4.5),
     [("true sparsity a/2 (log scale)", "metric value (log scale)",
       "noise (Fig 6): d = 16, dictionary 8d, σ = 0.1, 4d features"),
      ("", "average coefficient norm S₁ / normalized loss L_norm", "noise: sparse linear (blue) vs controls (red)")],
     ""),
    ("fig2_embeddings", lambda r: plots.embeddings_figure(r.embeddings, "normalized_loss"), (7, 4.5),
     [("embedding size d (log scale)", "normalized loss L_norm", "Figure 2: token embeddings, normalized loss")], ""),
    ("fig9_embeddings_s1", lambda r: plots.embeddings_figure(r.embeddings, "s1"), (7, 4.5),
     [("embedding size d (log scale)", "average coefficient norm S₁",
       "Figure 9: token embeddings, average coefficient norm")], ""),
    ("fig3_layers", lambda r: plots.layers_figure(r.layers, "normalized_loss"), (7, 4.5),
     [(DEPTH, "normalized loss L_norm", "Figure 3a: sparsity by layer, normalized loss")], ""),
    ("fig10_layers_s1", lambda r: plots.layers_figure(r.layers, "s1"), (7, 4.5),
     [(DEPTH, "average coefficient norm S₁", "Figure 10: sparsity by layer, average coefficient norm")], ""),
    ("fig3b_variance_explained", lambda r: plots.layers_figure(r.layers, "variance_explained"), (7, 4.5),
     [(DEPTH, "variance explained (%)", "Figure 3b: variance explained by the decomposition")], ""),
]


@pytest.mark.parametrize(("name", "draw", "size", "panels", "title"), FIGURES, ids=[f[0] for f in FIGURES])
def test_every_figure_renders_and_saves(run, tmp_path, name, draw, size, panels, title):
    check_figure(draw(run), tmp_path / f"{name}.png", size, panels, title)


def test_the_notebook_saves_every_declared_figure_and_these_tests_draw_them_all(repo):
    names = [name for name, *_ in FIGURES]
    assert notebook_figures(repo, "feature_sparsity") == declared_figures(repo, "feature_sparsity") == names


def test_a_tier_without_ablations_embeddings_or_layers_draws_empty_panels(run, tmp_path):
    for figure in (plots.ablations_figure(run.main, {}), plots.embeddings_figure([], "s1"),
                   plots.layers_figure([], "s1")):
        assert not figure.axes[0].axison and figure.axes[0].texts
        check_figure(figure, tmp_path / "empty.png", tuple(figure.get_size_inches()), [
            (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) for ax in figure.axes])


def test_equal_d_models_are_spread_along_x(run):
    ax = plots.embeddings_figure(run.embeddings, "s1").axes[0]
    dots = [line.get_xdata()[0] for line in ax.lines if line.get_marker() == "o"]
    assert dots == pytest.approx([16, 16 * 1.04, 32])


def test_settings_table(run):
    text = tables.settings_markdown(run.synthetic, run.embeddings, run.layers, run.features)
    assert ("| setting | paper figure | d | dictionary | σ | ground-truth features | samples n | a |\n"
            "|---|---|---|---|---|---|---|---|\n"
            "| main | Fig 1 | 16 | 8d = 128 | 0.1 | 4d | 512 | 2, 5, 10, 20 |\n"
            "| noise | Fig 6 | 16 | 8d = 128 | 0.1 | 4d | 512 | 2, 10 |\n\n") in text
    assert "**Token embeddings:** `small` (d = 16, vocabulary 1,000, dictionary 128), `small2`" in text
    assert text.endswith("λ 0.1 in training and 0.01 to decompose).  \n**Feature tables:** `tiny` (λ = 0.0347).")
    assert "**Token embeddings:** none.  \n**Layers:** none." in tables.settings_markdown(run.synthetic, [], [],
                                                                                          run.features)


def test_synthetic_datasets_table_formats_each_column(run):
    lines = tables.synthetic_datasets_markdown(run.synthetic).split("\n")
    assert lines[2] == ("| setting | dataset | a/2 | N₀ | L | S₁ | L_norm | VE | λ | λ rounds | at max active |")
    assert lines[4] == "| main | sparse_a2 | 1 | 0.2 | 0.4 | 0.6 | 0.8 | 0.9500 | 1.4 | 2 | 0.000 |"
    assert lines[8] == "| main | gaussian | — | 3 | 6 | 9 | 12 | 0.9500 | 21 | 1 | — |"


def test_embeddings_and_layers_tables(run):
    embeddings = tables.embeddings_markdown(run.embeddings).split("\n")
    assert embeddings[4] == "| small | 16 | 1000 | 128 | embeddings | 0.4 | 0.3 | 0.1 | 0.9500 | 0.7 |"
    assert tables.embeddings_markdown([]).endswith("\n\nno embedding results")
    layers = tables.layers_markdown(run.layers)
    assert "| tiny | resid.1 | 2 | 1.2 | 0.9 | 0.3 | 0.9500 | 2.1 |" in layers
    assert "| tiny | 0.01 | 0.9750 | 0.9900 | ✓ |" in layers and "| tiny | 0.02 | 0.9500 | 0.9700 |  |" in layers
    assert layers.endswith("**Not reached** for `tiny`: the smallest candidate λ is used.")


def test_feature_tables_escape_tokens(run):
    assert tables.feature_tables_markdown(run.features) == (
        "Model `tiny`, decomposition λ = 0.0347.\n\n"
        "**Table 1: top features of `season`** (token id 7, 2 active features)\n\n"
        "| feature | coefficient | max-activating tokens |\n|---|---|---|\n| 3 | 0.296 | `aired, tv's` |\n\n"
        "**Table 2: top features of `the`** (token id 1, 0 active features)\n\n"
        "| feature | coefficient | max-activating tokens |\n|---|---|---|\n| — | — | no active feature |\n\n"
        "**Table 3: nearest tokens in embedding space** (cosine similarity of the centred embeddings)\n\n"
        "| token | closest embeddings |\n|---|---|\n| `season` | `seasons, a\\|b` |\n| `the` | — |")


def test_separation_check_table(run):
    assert tables.separation_check_markdown(run.separation_check) == (
        "| variant | dataset | samples | S₁ | L_norm |\n|---|---|---|---|---|\n"
        "| Φ from random unit vectors | sparse a20 | 512 | 9.5 | 10 |\n"
        "| Φ from random unit vectors | heavy tailed | 512 | 9.1 | 9.6 |\n"
        "| main run's initialisation, more samples | heavy tailed | 1,024 | 9.2 | 9.9 |")
    assert tables.separation_check_markdown({"runs": []}) == ""
