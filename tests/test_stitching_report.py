"""Experiment `stitching`: the claim rules on hand-built results, and the report's figures and tables rendering
from a small results folder made by the experiment's own functions."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from superposition.claims import read_claims
from superposition.config import parse_config
from superposition.io import atomic_write_json
from superposition.stitching import plots
from superposition.stitching.analyse import analyse_pair
from superposition.stitching.claims import stitching_claims, write_stitching_claims
from superposition.stitching.config import ToyConfig
from superposition.stitching.results import load_stitching_results
from superposition.stitching.toy import run_toy
from tests.plot_checks import declared_figures, notebook_figures
from tests.test_stitching import identity_sae

REPO = Path(__file__).resolve().parents[1]


def meta_summary(fve: float = 0.55, random_fve: float = 0.1, meta_mean: float = 0.6) -> dict:
    return {"latents": 4, "meta_latents": 2, "k": 1, "width_ratio": 0.5, "fve": fve, "l0": 1.0,
            "random_fve": random_fve, "random_l0": 1.0, "smallest_size": 2,
            "matches": [{"dict_size": 2, "meta_mean": meta_mean, "chance_mean": 0.3, "random_meta_mean": 0.35,
                         "meta_median": meta_mean, "chance_median": 0.3, "random_meta_median": 0.35,
                         "meta_values": [meta_mean] * 2, "chance_values": [0.3] * 2}],
            "decompositions": [{"latent": 3, "contexts": [{"activation": 1.5, "text": "a [[cat]]"}],
                                "meta_latents": [{"meta_latent": 0, "weight": 0.9, "closest_small_latent": 1,
                                                  "closest_small_cosine": 0.8,
                                                  "small_contexts": [{"activation": 1.0, "text": "[[dog]]"}],
                                                  "other_latents_using_it": [0, 2]}]}]}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stitching")
    small = identity_sae([[1, 0, 0], [0, 1, 0]])
    large = identity_sae([[1, 0, 0], [0, 1, 0.2], [0, 0.2, 1], [0.5, 0.5, 0.5]])
    x = torch.rand(300, 3, generator=torch.Generator().manual_seed(0))
    latents, groups, path, summary = analyse_pair(x, small, large, 0.7)
    for name, table in (("latents", latents), ("groups", groups), ("path", path)):
        table.assign(pair="2->4", small=2, large=4).to_csv(folder / f"{name}.csv", index=False)
    family = pd.DataFrame({"dict_size": [2, 4], "mse": [summary["small_mse"], summary["large_mse"]],
                           "l0": [summary["small_l0"], summary["large_l0"]], "fraction_variance_unexplained": [0.5, 0.2]})
    family.to_csv(folder / "family.csv", index=False)
    atomic_write_json(folder / "stitching.json", {"pairs": [summary], "dict_sizes": [2, 4], "eval_tokens": 300,
                                                   "k": 1.0, "steps": 10, "activations": {"model": "m", "site": "s", "d": 3},
                                                   "family": family.to_dict(orient="records")})
    atomic_write_json(folder / "meta.json", meta_summary())
    run_toy(parse_config(ToyConfig, dict(colours=3, shapes=3, dim=6, noise=0.0, samples=32, steps=10, l1=[0.3],
                                         lr=0.003, meta_k=2, meta_steps=10, seed=0)), str(folder / "toy.json"))
    write_stitching_claims(folder / "stitching.json", folder / "meta.json", folder / "toy.json", folder / "claims.json")
    return folder


def test_claims_written_with_diagnoses(results: Path) -> None:
    payload = read_claims(results / "claims.json")
    ids = [c["id"] for c in payload["claims"]]
    assert ids == ["novel_fraction", "novel_inserts_lower_mse", "reconstruction_inserts_raise_mse", "path_monotone",
                   "meta_fve_vs_random", "meta_fve_value", "meta_latents_match_smaller_saes",
                   "toy_small_atomic_large_composed", "toy_meta_recovers_atomic"]
    assert all(c["diagnosis"] for c in payload["claims"] if c["passed"] is False)


def test_claim_rules_on_hand_built_values(results: Path) -> None:
    summary = load_stitching_results(results).summary
    toy = load_stitching_results(results).toy

    def verdicts(summary=summary, meta=None, toy=toy) -> dict:
        return {c.id: c.passed for c in stitching_claims(summary, meta or meta_summary(), toy)}

    assert verdicts()["meta_fve_vs_random"] and verdicts()["meta_fve_value"]
    assert not verdicts(meta=meta_summary(fve=0.15, random_fve=0.1))["meta_fve_vs_random"]
    assert not verdicts(meta=meta_summary(fve=0.3))["meta_fve_value"]  # 0.3 is more than 0.15 from 0.5547
    assert not verdicts(meta=meta_summary(meta_mean=0.35))["meta_latents_match_smaller_saes"]
    edited = copy.deepcopy(summary)
    edited["pairs"][0].update(fraction_novel=0.3, novel_inserts_lowering_mse=0.8, median_insertion_delta_novel=-0.1,
                              median_insertion_delta_reconstruction=0.05, path_significant_rises=0, path_steps=10)
    passed = verdicts(summary=edited)
    assert passed["novel_fraction"] and passed["novel_inserts_lower_mse"] and passed["path_monotone"]
    assert passed["reconstruction_inserts_raise_mse"]
    edited["pairs"][0].update(fraction_novel=0.01, novel_inserts_lowering_mse=0.5, path_significant_rises=1,
                              median_insertion_delta_reconstruction=-0.2)
    failed = verdicts(summary=edited)
    assert not any(failed[k] for k in ("novel_fraction", "novel_inserts_lower_mse", "path_monotone",
                                       "reconstruction_inserts_raise_mse"))
    diagnosed = {c.id: c for c in stitching_claims(edited, meta_summary(), toy)}["novel_inserts_lower_mse"]
    assert diagnosed.diagnosis == "open" and "1% novel, of which 50% lower the MSE" in diagnosed.evidence
    toy_pass = copy.deepcopy(toy)
    for entry in toy_pass["saes"]:
        entry.update(mmcs_atomic=0.95 if entry["role"] == "small" else 0.6, mmcs_composed=0.95)
        if "meta" in entry:
            entry["meta"]["mmcs_atomic"] = 0.92
    assert verdicts(toy=toy_pass)["toy_small_atomic_large_composed"] and verdicts(toy=toy_pass)["toy_meta_recovers_atomic"]


def test_toy_meta_diagnosis_follows_the_control_on_exact_compositions(results: Path) -> None:
    toy = load_stitching_results(results).toy
    control = toy["meta_on_compositions"]
    assert set(control) >= {"fve", "l0", "bias_norm", "mmcs_atomic", "best_cos_atomic", "cos_atomic"}
    assert np.array(control["cos_atomic"]).shape == (control["meta_latents"], 6)
    exact = toy["cos_compositions"]
    assert np.allclose(np.diag(exact["cos_composed"]), 1.0)  # the control's input is the 9 compositions themselves
    assert np.allclose(np.abs(exact["cos_atomic"]).max(axis=1), 2**-0.5, atol=1e-6)  # (c_i + s_j)/√2 against c_i
    assert exact["mmcs_composed"] == pytest.approx(1.0)
    assert exact["mmcs_atomic"] == pytest.approx(2**-0.5, abs=1e-6)

    def diagnosed(mmcs: float, l0: float):
        edited = copy.deepcopy(toy)
        for entry in edited["saes"]:
            if "meta" in entry:
                entry["meta"]["mmcs_atomic"] = 0.5  # the claim itself fails
        edited["meta_on_compositions"].update(mmcs_atomic=mmcs, l0=l0, fve=1.0, bias_norm=0.8)
        return {c.id: c for c in stitching_claims(load_stitching_results(results).summary, meta_summary(),
                                                   edited)}["toy_meta_recovers_atomic"]

    recovered = diagnosed(0.95, 2.0)
    assert recovered.passed is False and recovered.diagnosis == "open" and "MMCS 0.95" in recovered.evidence
    sparser = diagnosed(0.74, 1.67)
    assert sparser.diagnosis == "non_replication" and "MMCS 0.74" in sparser.evidence
    assert "L0 1.67" in sparser.evidence and "below the atomic solution's 2" in sparser.evidence
    assert "control" in sparser.measured_summary and sparser.measured["control_meta_mmcs_atomic"] == 0.74
    mixed = diagnosed(0.74, 2.0)
    assert mixed.diagnosis == "non_replication" and "below the atomic solution's 2" not in mixed.evidence


def test_figures_render_and_match_the_manifest(results: Path, tmp_path: Path) -> None:
    run = load_stitching_results(results)
    made = {"stitching_path": plots.stitching_path_figure(run.path, run.family),
            "max_cosine": plots.max_cosine_figure(run.latents, 0.7),
            "delta_mse": plots.delta_mse_figure(run.latents, run.groups),
            "meta_fve": plots.meta_fve_figure(run.meta), "meta_matches": plots.meta_matches_figure(run.meta),
            "toy_directions": plots.toy_directions_figure(run.toy)}
    for name, figure in made.items():
        figure.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    assert declared_figures(REPO, "stitching") == notebook_figures(REPO, "stitching") == list(made)
    text = plots.decompositions_markdown(run.meta) + plots.summary_markdown(run.summary, run.meta) + plots.toy_markdown(run.toy)
    assert "a [[cat]]" in text and "2 → 4" in text and "| small (6) |" in text
