"""chess_nmf claims on hand-built stage outputs: each rule's verdict, and claims.json against its schema."""

import copy
import json

import jsonschema
import yaml

from superposition.chess_nmf.claims import chess_claims, write_chess_claims
from superposition.chess_nmf.concepts import CONCEPTS


def _decomposition(network, block, sweep, nmf_errors, svd_errors, nmf_overlap):
    runs = lambda errors: {str(k): {"frobenius_error": e, "min_C": 0.0, "min_F": 0.0}  # noqa: E731
                           for k, e in zip((2, 4), errors)}
    return {"network": network, "block": block, "sweep": sweep, "nmf": runs(nmf_errors), "svd": runs(svd_errors),
            "nestedness": {"nmf": [{"k": 2, "k_next": 4, "hungarian": nmf_overlap, "mmcs": nmf_overlap}],
                           "svd": [{"k": 2, "k_next": 4, "hungarian": 1.0, "mmcs": 1.0}]}}


def _scores(nmf_best, svd_best, random_best, diagonal_r):
    def method(best, r_diag=0.0):
        r = [[0.0] * len(CONCEPTS), [0.0] * len(CONCEPTS)]
        r[1][CONCEPTS.index("opponent_diagonal_reach")] = r_diag
        return {"r": r, "mean_best_abs_r": best}
    block = lambda n, s, d: {"nmf": method(n, d), "svd": method(s)}  # noqa: E731
    return {"concepts": list(CONCEPTS), "networks": {"trained": {"block1": block(nmf_best, svd_best, diagonal_r)},
                                                     "random": {"block1": block(random_best, 0.1, 0.0)}}}


NETWORK = {"trained": {"policy_top1": 0.30, "value_mse": 0.10}, "random": {"policy_top1": 0.05, "value_mse": 0.30},
           "network": {"blocks": 6, "channels": 64}, "train_positions": 31_000}
GOOD = ({"trained/block1": _decomposition("trained", 1, True, [3.0, 2.0], [2.5, 1.5], 0.8)},
        _scores(0.5, 0.4, 0.3, 0.6))


def _verdicts(network, decompositions, scores):
    return {c.id: c.passed for c in chess_claims(network, decompositions, scores)}


def test_all_claims_pass_on_good_outputs():
    assert all(_verdicts(NETWORK, *GOOD).values())


def test_each_rule_fails_when_its_condition_breaks():
    decompositions, scores = copy.deepcopy(GOOD)
    decompositions["trained/block1"]["nmf"]["2"]["min_C"] = -1e-3
    decompositions["trained/block1"]["svd"]["4"]["frobenius_error"] = 2.1  # above NMF's 2.0
    decompositions["trained/block1"]["nestedness"]["nmf"][0]["hungarian"] = 0.995
    scores["networks"]["trained"]["block1"]["nmf"]["mean_best_abs_r"] = 0.2  # below SVD 0.4 and random 0.3
    scores["networks"]["trained"]["block1"]["nmf"]["r"][1][CONCEPTS.index("opponent_diagonal_reach")] = 0.49
    network = copy.deepcopy(NETWORK)
    network["trained"]["value_mse"] = 0.28  # above 0.9 × 0.30
    claims = chess_claims(network, decompositions, scores)
    assert not any(c.passed for c in claims)
    # What the network learned is limited by its size (6 × 64, not AlphaZero's 20 × 256); the decompositions'
    # own properties are expected at any scale.
    diagnoses = {c.id: c.diagnosis for c in claims}
    assert diagnoses["network_beats_random"] == diagnoses["nmf_factor_opponent_diagonal_reach"] == "scale_limited"
    assert diagnoses["nmf_nonnegative"] == diagnoses["svd_error_at_most_nmf"] == "open"
    assert "6 blocks × 64 channels" in next(c.evidence for c in claims if c.id == "network_beats_random")


def test_nestedness_is_untestable_without_a_trained_sweep():
    decompositions, scores = copy.deepcopy(GOOD)
    decompositions["trained/block1"]["sweep"] = False
    assert _verdicts(NETWORK, decompositions, scores)["svd_nested_nmf_not"] is None


def test_claims_json_matches_the_schema(tmp_path, repo):
    (tmp_path / "network.json").write_text(json.dumps(NETWORK))
    (tmp_path / "d.json").write_text(json.dumps(GOOD[0]["trained/block1"]))
    (tmp_path / "scores.json").write_text(json.dumps(GOOD[1]))
    write_chess_claims(tmp_path / "network.json", [tmp_path / "d.json"], tmp_path / "scores.json",
                       tmp_path / "claims.json")
    payload = json.loads((tmp_path / "claims.json").read_text())
    jsonschema.validate(payload, yaml.safe_load((repo / "workflow/schemas/claims.schema.yaml").read_text()))
    assert payload["experiment"] == "chess_nmf" and payload["n_claims"] == 7 and payload["n_passed"] == 7
