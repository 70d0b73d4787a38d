"""Input planes and the AlphaZero move index: round trips and hand-checked values."""

import chess
import numpy as np
import pytest

from superposition.chess_nmf.encoding import (N_MOVES, decode_planes, encode_board, index_move, legal_move_mask,
                                              move_index)
from tests.chess_factories import random_game_fens

FENS = random_game_fens(6, 60, seed=3) + [
    "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",  # en passant possible
    "8/P6k/8/8/8/8/6Kp/8 b - - 0 70",  # promotions for Black
]


def test_start_position_planes():
    planes = encode_board(chess.Board())
    assert planes.shape == (20, 8, 8)
    assert planes[0, 1].sum() == 8 and planes[0].sum() == 8  # our pawns on rank 2
    assert planes[11, 7, 4] == 1  # their king on e8
    assert planes[12].sum() == 0 and np.all(planes[14:18] == 1)  # White to move, all castling rights


def test_black_to_move_is_mirrored():
    board = chess.Board()
    board.push_uci("e2e4")
    planes = encode_board(board)
    assert np.all(planes[12] == 1)
    assert planes[0, 1].sum() == 8  # Black's pawns, now "ours", on the oriented rank 2
    assert planes[6, 4, 4] == 1  # White's e4 pawn is "theirs", mirrored to e5 (rank index 4)


@pytest.mark.parametrize("fen", FENS)
def test_planes_round_trip(fen):
    board = chess.Board(fen)
    assert decode_planes(encode_board(board)).fen() == board.fen()


def test_move_index_is_a_bijection_on_legal_moves():
    for fen in FENS:
        board = chess.Board(fen)
        indices = [move_index(board, move) for move in board.legal_moves]
        assert len(set(indices)) == len(indices) and all(0 <= i < N_MOVES for i in indices)
        for move, index in zip(board.legal_moves, indices):
            assert index_move(board, index) == move


def test_known_move_indices():
    board = chess.Board()
    assert move_index(board, chess.Move.from_uci("e2e4")) == (0 * 7 + 1) * 64 + chess.E2  # north, distance 2
    assert move_index(board, chess.Move.from_uci("g1f3")) == (56 + 7) * 64 + chess.G1  # knight (+2 ranks, -1 file)
    board = chess.Board("8/P6k/8/8/8/8/6K1/8 w - - 0 1")
    assert move_index(board, chess.Move.from_uci("a7a8n")) == (64 + 3 + 0) * 64 + chess.A7  # straight, knight
    black = chess.Board("8/7k/8/8/8/8/6Kp/8 b - - 0 1")
    # Black's h2-h1 is "north" from its own side: the same index as White's h7-h8 queen push.
    assert move_index(black, chess.Move.from_uci("h2h1q")) == (0 * 7 + 0) * 64 + chess.H7


def test_legal_mask_counts():
    mask = legal_move_mask([chess.STARTING_FEN])
    assert mask.shape == (1, N_MOVES) and int(mask.sum()) == 20
