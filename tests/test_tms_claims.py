"""The tms claims on hand-built metrics."""

import copy

import pytest

from superposition.tms.claims import tms_claims


def paper_like_metrics() -> dict:
    """Metrics shaped like the paper's results: every claim should pass."""
    relu = {
        "relu/S=0": {"norms": [1.0, 1.0, 0.01, 0.0, 0.0], "n_represented": 2},
        "relu/S=0.9": {"norms": [1.1] * 5, "n_represented": 5, "neighbour_angles": [72.0, 71.0, 73.0, 70.0, 74.0]},
        "linear/S=0": {"norms": [1.0, 1.0, 0.0, 0.0, 0.0], "n_represented": 2},
        "linear/S=0.9": {"norms": [1.0, 1.0, 0.0, 0.0, 0.0], "n_represented": 2},
    }
    return {
        "intro": {"sparsities": [0.0, 0.9], "n_hidden": 2, "models": relu},
        "sparsity_sweep": {"n_hidden": 5, "levels": [{"sparsity": s, "n_represented": n} for s, n in
                                                     [(0.0, 5), (0.7, 8), (0.9, 9), (0.99, 11), (0.999, 13)]]},
        "phase": {"agreement": 0.9,
                  "empirical_counts": {"not represented": 10, "dedicated dimension": 8, "superposition": 20},
                  "theoretical_counts": {"not represented": 9, "dedicated dimension": 9, "superposition": 20}},
        # 3 of 10 D_i per level on a fraction (0.5, 0.39 and 0.75 are within ± 0.02 of one): 30 %.
        "dimensionality": {"d_star": [1.0, 0.8, 0.52, 0.51, 0.5, 0.45, 0.3],
                           "inverse_density": [1.0, 1.5, 2.2, 3.3, 5.0, 7.4, 11.0],
                           "feature_dimensionality": [[0.5, 0.39, 0.75] + [0.1] * 7] * 4},
        "config": {"train": {"batch_size": 1024}, **{part: {"steps": 10_000} for part in
                                                      ("intro", "sparsity_sweep", "phase", "dimensionality")}},
    }


def verdicts(metrics: dict) -> dict[str, bool | None]:
    return {claim.id: claim.passed for claim in tms_claims(metrics)}


def test_every_claim_passes_on_paper_like_metrics():
    assert set(verdicts(paper_like_metrics()).values()) == {True}


@pytest.mark.parametrize("edit, claim_id", [
    (lambda m: m["intro"]["models"]["relu/S=0"].update(norms=[1.0, 1.0, 0.7, 0.0, 0.0]), "intro_dense_two_features"),
    (lambda m: m["intro"]["models"]["relu/S=0.9"].update(neighbour_angles=[90.0, 90.0, 60.0, 60.0, 60.0]),
     "intro_pentagon"),
    (lambda m: m["intro"]["models"]["relu/S=0.9"].update(norms=[1.1, 1.1, 1.1, 1.1, 0.2]), "intro_pentagon"),
    (lambda m: m["intro"]["models"]["linear/S=0.9"].update(n_represented=3), "intro_linear_no_superposition"),
    (lambda m: m["sparsity_sweep"]["levels"][2].update(n_represented=7), "sparsity_sweep_more_features"),
    (lambda m: m["sparsity_sweep"]["levels"][3].update(n_represented=5), "sparsity_sweep_more_features"),
    (lambda m: m["phase"].update(agreement=0.79), "phase_change"),
    (lambda m: m["phase"]["empirical_counts"].update({"dedicated dimension": 0}), "phase_change"),
    (lambda m: m["dimensionality"].update(d_star=[1.0, 0.52, 0.51, 0.45, 0.5, 0.3]), "dimensionality_half_plateau"),
    (lambda m: m["dimensionality"].update(feature_dimensionality=[[0.5] + [0.1] * 9] * 4), "dimensionality_fractions"),
])
def test_each_rule_fails_when_its_condition_breaks(edit, claim_id):
    metrics = copy.deepcopy(paper_like_metrics())
    edit(metrics)
    results = verdicts(metrics)
    assert results[claim_id] is False
    assert all(v is True for k, v in results.items() if k != claim_id)


def test_missing_levels_are_untestable():
    metrics = paper_like_metrics()
    del metrics["intro"]["models"]["relu/S=0.9"]
    claims = {claim.id: claim for claim in tms_claims(metrics)}
    assert claims["intro_pentagon"].passed is None and "S = 0.9" in claims["intro_pentagon"].note


def test_fractions_are_counted_over_represented_features_at_sparse_levels():
    metrics = paper_like_metrics()
    # Level 0 is dense (D* = 1): its features, all at 1, do not count; unrepresented features (D_i < 0.1) do not
    # count either. Of the rest, 2 of 8 are on a fraction: 25 %.
    metrics["dimensionality"].update(d_star=[1.0, 0.5], feature_dimensionality=[[1.0] * 10, [0.5, 0.4] + [0.2] * 6
                                                                               + [0.0] * 10])
    claim = next(c for c in tms_claims(metrics) if c.id == "dimensionality_fractions")
    assert claim.measured["pool_size"] == 8 and claim.measured["fraction_near"] == 0.25 and claim.passed
    assert claim.measured["fraction_near_all_d_i"] == 12 / 28  # the earlier rule's statistic, recorded beside it


def test_failures_are_diagnosed_by_the_training_length():
    metrics = paper_like_metrics()
    metrics["phase"]["agreement"] = 0.5
    at_paper_scale = next(c for c in tms_claims(metrics) if c.id == "phase_change")
    assert at_paper_scale.diagnosis == "open" and "cells by phase" in at_paper_scale.evidence
    metrics["config"]["phase"]["steps"] = 4000
    short = next(c for c in tms_claims(metrics) if c.id == "phase_change")
    assert short.diagnosis == "scale_limited" and "4000 steps" in short.evidence
    assert all(c.diagnosis is None for c in tms_claims(paper_like_metrics()))
