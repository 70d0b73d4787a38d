"""The secondary architecture comparison on toy data: its claims on hand-built tables."""

import numpy as np
import pandas as pd
import pytest

from superposition.toy_sae.architecture_claims import architecture_claims

SPARSITIES = {"relu_l1": (0.03, 0.1, 0.3), "topk": (2.0, 5.0, 10.0), "batchtopk": (2.0, 5.0, 10.0),
              "jumprelu": (0.003, 0.01, 0.03)}


def table(**changes) -> pd.DataFrame:
    """A comparison table in which every secondary claim passes; ``changes`` edits columns per (arch, ratio, value)."""
    rows = []
    for architecture, values in SPARSITIES.items():
        for ratio in (1.0, 2.0):
            for index, value in enumerate(values):
                l0 = value if architecture in ("topk", "batchtopk") else 12.0 / (index + 1)
                fvu = 0.5 / l0 - (0.01 if architecture == "batchtopk" else 0.0)
                rows.append({"architecture": architecture, "sparsity": value, "dict_ratio": ratio,
                             "dict_size": int(512 * ratio), "mmcs": 0.95 if value == 5.0 else 0.8,
                             "mean_l0": l0 * (1.05 if architecture == "batchtopk" else 1.0),
                             "fraction_variance_unexplained": fvu, "dead_latents": 0})
    frame = pd.DataFrame(rows)
    for (architecture, ratio, value, column), new in changes.get("edits", {}).items():
        mask = ((frame.architecture == architecture) & np.isclose(frame.dict_ratio, ratio)
                & np.isclose(frame.sparsity, value))
        frame.loc[mask, column] = new
    return frame


def by_id(frame: pd.DataFrame, steps: int = 400) -> dict:
    return {claim.id: claim for claim in architecture_claims(frame, steps, dead_window=200)}


def test_every_secondary_claim_passes_on_a_table_shaped_like_the_papers():
    claims = architecture_claims(table(), 400, 200)
    assert all(claim.secondary for claim in claims)
    assert {claim.id: claim.passed for claim in claims} == {
        "arch_topk_true_k_recovers": True, "arch_batchtopk_fvu_not_above_topk": True,
        "arch_batchtopk_threshold_l0": True, "arch_every_curve_reported": True}


def test_topk_below_the_bar_at_the_true_k_fails():
    claim = by_id(table(edits={("topk", 1.0, 5.0, "mmcs"): 0.89, ("topk", 1.0, 5.0, "dead_latents"): 7}))[
        "arch_topk_true_k_recovers"]
    assert claim.passed is False and claim.measured_summary == (
        "MMCS 0.890 at k = 5, J = G (7 of 512 latents dead); at J = 2G: 0.950")
    assert claim.measured["mmcs_at_ratio_2"] == pytest.approx(0.95)


@pytest.mark.parametrize("steps, diagnosis", [(400, "open"), (19999, "open"), (20000, "non_replication")])
def test_a_failure_is_open_below_the_reports_length_and_a_non_replication_at_it(steps, diagnosis):
    claim = by_id(table(edits={("topk", 1.0, 5.0, "mmcs"): 0.8}), steps)["arch_topk_true_k_recovers"]
    assert claim.diagnosis == diagnosis and claim.evidence.startswith(f"Measured after {steps} steps: MMCS 0.800")
    assert "(dead: no activation in the last 200 training batches)" in claim.evidence
    # a shorter run names the setting that decides it
    assert ("toy_sae.architectures.train.steps: 20000" in claim.evidence) == (diagnosis == "open")


def test_batchtopk_with_a_higher_fvu_than_interpolated_topk_fails():
    # BatchTopK k=5 at L0 5.25 sits between TopK's k=5 and k=10; TopK's FVU interpolated there is ≈ 0.095.
    claim = by_id(table(edits={("batchtopk", 2.0, 5.0, "fraction_variance_unexplained"): 0.2}))[
        "arch_batchtopk_fvu_not_above_topk"]
    assert claim.passed is False and "×2, k 5" in claim.note
    interpolated = claim.measured["×2, k 5"]["topk_fvu"]
    expected = np.interp(np.log(5.25), np.log([2.0, 5.0, 10.0]), [0.25, 0.1, 0.05])
    assert interpolated == pytest.approx(expected)


def test_batchtopk_outside_topk_range_is_not_compared_and_nothing_to_compare_is_untestable():
    frame = table()
    frame.loc[frame.architecture == "batchtopk", "mean_l0"] = 50.0
    assert by_id(frame)["arch_batchtopk_fvu_not_above_topk"].passed is None


def test_inference_threshold_far_from_k_fails():
    claim = by_id(table(edits={("batchtopk", 1.0, 10.0, "mean_l0"): 13.0}))["arch_batchtopk_threshold_l0"]
    assert claim.passed is False and "1.30·k" in claim.measured_summary


def test_a_missing_or_nan_curve_fails_the_reporting_claim():
    frame = table(edits={("jumprelu", 2.0, 0.01, "mmcs"): np.nan})
    claim = by_id(frame)["arch_every_curve_reported"]
    assert claim.passed is False and "jumprelu ×2" in claim.measured_summary
    claim = by_id(table()[lambda t: t.architecture != "relu_l1"])["arch_every_curve_reported"]
    assert claim.passed is False and "relu_l1 ×1" in claim.measured["missing"]


def test_claims_without_the_needed_grid_points_are_untestable():
    claims = by_id(table()[lambda t: t.architecture == "relu_l1"])
    assert claims["arch_topk_true_k_recovers"].passed is None
    assert claims["arch_batchtopk_threshold_l0"].passed is None
    assert "untestable here" in claims["arch_batchtopk_fvu_not_above_topk"].note


def test_the_comparison_stages_train_evaluate_plot_and_claim(tmp_path):
    """Every architecture through the library's stages on a tiny toy problem (the smoke tier's path)."""
    import json

    from superposition.claims import read_claims
    from superposition.sae import AdamSettings, ArchitectureOptions
    from superposition.sweep_config import ArchitectureGridConfig, MultiSweepTrainConfig
    from superposition.toy_sae.architecture_plots import fvu_vs_l0, mmcs_vs_l0
    from superposition.toy_sae.architectures import COMPARISON_COLUMNS, evaluate_architecture_sweep
    from superposition.toy_sae.claims import write_toy_sae_claims
    from superposition.toy_sae.config import ToyDataConfig, ToyEvaluateConfig
    from superposition.toy_sae.ground_truth import make_ground_truth
    from superposition.toy_sae.train import train_toy_sweep

    make_ground_truth(ToyDataConfig(n_features=16, dim=8, mean_active=2.0, decay=0.99, seed=0), tmp_path / "gt.st")
    grids = tuple(ArchitectureGridConfig(name, values, 3e-3, AdamSettings()) for name, values in
                  [("relu_l1", (0.1,)), ("topk", (2.0, 5.0)), ("batchtopk", (2.0,)), ("jumprelu", (0.01,))])
    config = MultiSweepTrainConfig(grids, (1.0, 2.0), 32, 30, 0, 1, 10,
                                   ArchitectureOptions(dead_tokens=320, init_samples=256, threshold_batches=3,
                                                       l0_warmup_steps=5))
    train_toy_sweep(tmp_path / "gt.st", config, "cpu", tmp_path / "sweep.st", progress=False)
    table = evaluate_architecture_sweep(tmp_path / "gt.st", tmp_path / "sweep.st",
                                        ToyEvaluateConfig(dead_window=10, eval_samples=256, eval_seed=2),
                                        tmp_path / "arch.csv", tmp_path / "arch.json")
    assert list(table.columns) == COMPARISON_COLUMNS and len(table) == 2 * 5
    assert table.set_index(["architecture", "sparsity", "dict_ratio"]).index.is_unique
    assert np.isfinite(table[["mmcs", "mean_l0", "fraction_variance_unexplained"]].to_numpy()).all()
    assert json.loads((tmp_path / "arch.json").read_text())["summary"]["topk_x1"]["sparsity"] in (2.0, 5.0)
    for figure in (mmcs_vs_l0(table), fvu_vs_l0(table)):
        assert len(figure.axes) == 2 and all(len(ax.lines) == 5 for ax in figure.axes)  # 4 curves + the true L0
    pd.DataFrame([{"architecture": "relu_l1", "sparsity": 0.1, "dict_ratio": 1.0, "dict_size": 16, "mmcs": 0.5,
                   "mmcs_with_larger": 0.5, "dead_latents": 0}]).to_csv(tmp_path / "main.csv", index=False)
    pd.DataFrame([{"architecture": "relu_l1", "sparsity": 0.1, "dict_ratio": 1.0, "frequency_group": group,
                   "mmcs": 0.5} for group in range(2)]).to_csv(tmp_path / "recovery.csv", index=False)
    (tmp_path / "main.json").write_text(json.dumps({"train_config": {"steps": 30, "lr": 3e-3}}))
    write_toy_sae_claims(tmp_path / "main.csv", tmp_path / "recovery.csv", tmp_path / "main.json",
                         tmp_path / "claims.json", tmp_path / "arch.csv", architectures_json=tmp_path / "arch.json")
    payload = read_claims(tmp_path / "claims.json")
    assert payload["n_claims"] == 6 and payload["n_secondary"] == 4
    assert {c["id"] for c in payload["claims"] if c["secondary"]} == {
        "arch_topk_true_k_recovers", "arch_batchtopk_fvu_not_above_topk", "arch_batchtopk_threshold_l0",
        "arch_every_curve_reported"}
