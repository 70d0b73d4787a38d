"""Concept maps on hand-built positions, and the correlation score against numpy."""

import chess
import numpy as np
import pytest
import torch

from superposition.chess_nmf.concepts import CONCEPTS, concept_maps, concept_match, pearson_matrix, score_methods


def _map(fen, name):
    return concept_maps(fen)[CONCEPTS.index(name)]


def _squares(values):
    return {chess.square_name(s) for s in np.nonzero(values)[0]}


def test_opponent_diagonal_reach_of_a_lone_bishop():
    # White to move; Black's bishop on h8 sweeps the long diagonal down to the white pawn on c3 (included).
    fen = "4k2b/8/8/8/8/2P5/8/4K3 w - - 0 1"
    assert _squares(_map(fen, "opponent_diagonal_reach")) == {"g7", "f6", "e5", "d4", "c3"}
    assert _map(fen, "own_diagonal_reach").sum() == 0


def test_queen_diagonals_count_but_not_its_files():
    fen = "4k3/8/8/8/3q4/8/8/K7 w - - 0 1"
    reach = _squares(_map(fen, "opponent_diagonal_reach"))
    assert "a1" in reach and "h8" in reach and "g1" in reach and "a7" in reach
    assert "d1" not in reach and "a4" not in reach


def test_maps_are_in_the_side_to_move_frame():
    # Black to move: Black's king on e8 is "own" and lands on the oriented e1.
    fen = "4k3/8/8/8/8/8/8/4K3 b - - 0 1"
    assert _squares(_map(fen, "own_king_zone")) == {"d1", "e1", "f1", "d2", "e2", "f2"}
    assert _squares(_map(fen, "opponent_king_zone")) == {"d8", "e8", "f8", "d7", "e7", "f7"}


def test_attacks_pawns_passed_material_phase():
    fen = "4k3/8/8/3p4/8/8/P2P4/4K2R w K - 0 1"  # a2 passed; d2 faces d5: not passed
    assert _squares(_map(fen, "own_passed_pawns")) == {"a2"}
    assert _squares(_map(fen, "opponent_passed_pawns")) == set()
    assert _squares(_map(fen, "own_pawns")) == {"a2", "d2"}
    attacks = _map(fen, "own_attacks")
    assert attacks[chess.B3] == 1 and attacks[chess.E2] == 1 and attacks[chess.F2] == 1  # pawn a2; king e1
    assert attacks[chess.H2] == 1  # rook h1
    assert np.all(_map(fen, "material_balance") == 2 + 5 - 1)
    assert np.all(_map(fen, "phase") == pytest.approx(5 / 62))


def test_pearson_matrix_matches_numpy_and_constant_columns_score_zero():
    g = np.random.default_rng(0)
    X, Y = g.normal(size=(200, 3)), g.normal(size=(200, 2))
    Y[:, 1] = 2 * X[:, 0] + 0.1 * Y[:, 1]
    r = pearson_matrix(torch.from_numpy(X), torch.from_numpy(Y)).numpy()
    expected = np.corrcoef(X.T, Y.T)[:3, 3:]
    np.testing.assert_allclose(r, expected, atol=1e-12)
    constant = pearson_matrix(torch.from_numpy(X), torch.ones(200, 1, dtype=torch.float64))
    assert torch.all(constant == 0)


def test_concept_match_known_answer():
    r = torch.tensor([[0.1, -0.9], [0.5, 0.2]], dtype=torch.float64)
    match = concept_match(r)
    assert match["best_abs_r"] == [0.5, 0.9] and match["best_factor"] == [1, 0]
    assert match["best_signed_r"] == [0.5, -0.9] and match["mean_best_abs_r"] == pytest.approx(0.7)


def test_score_methods_finds_the_factor_equal_to_a_concept():
    fens = ["4k2b/8/8/8/8/2P5/8/4K3 w - - 0 1", "4k3/8/8/8/3q4/8/8/K7 w - - 0 1", chess.STARTING_FEN]
    maps = np.stack([concept_maps(f) for f in fens])  # (3, concepts, 64)
    concepts = {name: torch.from_numpy(maps[:, i].reshape(-1)) for i, name in enumerate(CONCEPTS)}
    noise = torch.rand(3 * 64, 2, generator=torch.Generator().manual_seed(0))
    C = torch.cat([noise, concepts["opponent_diagonal_reach"][:, None] * 3.0], dim=1)
    scores = score_methods({"nmf": C}, concepts)
    column = CONCEPTS.index("opponent_diagonal_reach")
    assert scores["nmf"]["best_factor"][column] == 2
    assert scores["nmf"]["best_abs_r"][column] == pytest.approx(1.0)
