"""Input planes and the move index of the AlphaZero-style network.

Planes follow AlphaZero (Silver et al. 2018, Table S1) with a history of one position (T = 1), seen from the
side to move: when Black is to move the board is mirrored (ranks flipped, colours swapped), so "our" pieces
always start on ranks 1–2 and every square index below is in this *oriented* frame (a1 = 0 … h8 = 63,
``square = 8·rank + file``). The 20 planes, each (8, 8) indexed [rank, file]:

====  ==========================================================================================
0–5   our pawns, knights, bishops, rooks, queens, king (1 where the piece stands)
6–11  their pawns, knights, bishops, rooks, queens, king
12    colour: all ones when Black is to move (AlphaZero's colour plane)
13    total move count: fullmove number / 100 (AlphaZero feeds the raw count; we scale it)
14–17 castling rights: our O-O, our O-O-O, their O-O, their O-O-O (all ones when the right exists)
18    no-progress count: halfmove clock / 100 (the 50-move rule counter, scaled)
19    en-passant target square (one-hot). AlphaZero needs no such plane because its 8-step history shows the
      double pawn push; with T = 1 the history is gone, so we add it (as Leela's formats do in other ways).
====  ==========================================================================================

AlphaZero's two repetition planes per history step are omitted: positions are sampled without their
history, so repetition counts are unknown.

Moves use AlphaZero's 8 × 8 × 73 policy: index = plane · 64 + from_square (oriented), with planes 0–55 the
queen-like moves (8 directions × distance 1–7; queen promotions included), 56–63 the knight moves, and 64–72
the under-promotions (capture left, straight, capture right) × (knight, bishop, rook).
"""

from __future__ import annotations

import chess
import numpy as np
import torch

__all__ = ["N_PLANES", "N_MOVES", "encode_board", "encode_boards", "decode_planes", "move_index", "index_move",
           "legal_move_mask", "oriented", "oriented_square"]

N_PLANES = 20
N_MOVES = 73 * 64
_PIECES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)
# (rank step, file step) of the eight queen directions: N, NE, E, SE, S, SW, W, NW.
_DIRECTIONS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
_KNIGHT = ((2, 1), (1, 2), (-1, 2), (-2, 1), (-2, -1), (-1, -2), (1, -2), (2, -1))
_UNDER = (chess.KNIGHT, chess.BISHOP, chess.ROOK)


def oriented(board: chess.Board) -> chess.Board:
    """The board seen from the side to move (mirrored when Black is to move)."""
    return board if board.turn == chess.WHITE else board.mirror()


def oriented_square(square: int, turn: bool) -> int:
    """A real square in the side-to-move frame (and back: the map is its own inverse)."""
    return square if turn == chess.WHITE else chess.square_mirror(square)


def encode_board(board: chess.Board) -> np.ndarray:
    """(20, 8, 8) float32 planes of ``board`` from the side to move (see the module docstring)."""
    planes = np.zeros((N_PLANES, 8, 8), dtype=np.float32)
    view = oriented(board)  # White to move in `view`
    for square, piece in view.piece_map().items():
        offset = 0 if piece.color == chess.WHITE else 6
        planes[offset + _PIECES.index(piece.piece_type), square >> 3, square & 7] = 1.0
    planes[12] = float(board.turn == chess.BLACK)
    planes[13] = board.fullmove_number / 100.0
    planes[14] = float(view.has_kingside_castling_rights(chess.WHITE))
    planes[15] = float(view.has_queenside_castling_rights(chess.WHITE))
    planes[16] = float(view.has_kingside_castling_rights(chess.BLACK))
    planes[17] = float(view.has_queenside_castling_rights(chess.BLACK))
    planes[18] = board.halfmove_clock / 100.0
    if view.ep_square is not None and view.has_legal_en_passant():
        planes[19, view.ep_square >> 3, view.ep_square & 7] = 1.0
    return planes


def encode_boards(fens: list[str]) -> torch.Tensor:
    """(len(fens), 20, 8, 8) float32 planes."""
    return torch.from_numpy(np.stack([encode_board(chess.Board(fen)) for fen in fens])) if fens else \
        torch.empty(0, N_PLANES, 8, 8)


def decode_planes(planes: np.ndarray) -> chess.Board:
    """The board that :func:`encode_board` encoded (inverse up to illegal en-passant squares)."""
    view = chess.Board(None)
    for plane in range(12):
        for rank, file in zip(*np.nonzero(planes[plane] > 0.5)):
            color = chess.WHITE if plane < 6 else chess.BLACK
            view.set_piece_at(chess.square(int(file), int(rank)), chess.Piece(_PIECES[plane % 6], color))
    rights = ""
    for plane, symbol in zip(range(14, 18), "KQkq"):
        rights += symbol if planes[plane, 0, 0] > 0.5 else ""
    view.set_castling_fen(rights or "-")
    ep = np.nonzero(planes[19] > 0.5)
    view.ep_square = chess.square(int(ep[1][0]), int(ep[0][0])) if len(ep[0]) else None
    view.turn = chess.WHITE
    board = view if planes[12, 0, 0] < 0.5 else view.mirror()
    board.halfmove_clock = int(round(planes[18, 0, 0] * 100))
    board.fullmove_number = int(round(planes[13, 0, 0] * 100))
    return board


def _oriented_move_index(move: chess.Move) -> int:
    from_rank, from_file = divmod(move.from_square, 8)
    to_rank, to_file = divmod(move.to_square, 8)
    dr, df = to_rank - from_rank, to_file - from_file
    if move.promotion in _UNDER:
        plane = 64 + (df + 1) * 3 + _UNDER.index(move.promotion)
    elif (dr, df) in _KNIGHT:
        plane = 56 + _KNIGHT.index((dr, df))
    else:
        distance = max(abs(dr), abs(df))
        plane = _DIRECTIONS.index((dr // distance, df // distance)) * 7 + distance - 1
    return plane * 64 + move.from_square


def move_index(board: chess.Board, move: chess.Move) -> int:
    """Index in [0, 4672) of ``move`` (legal in ``board``) in the side-to-move frame."""
    if board.turn == chess.BLACK:
        move = chess.Move(chess.square_mirror(move.from_square), chess.square_mirror(move.to_square), move.promotion)
    return _oriented_move_index(move)


def index_move(board: chess.Board, index: int) -> chess.Move:
    """The move of ``board`` whose :func:`move_index` is ``index`` (raises ValueError if none is legal)."""
    for move in board.legal_moves:
        if move_index(board, move) == index:
            return move
    raise ValueError(f"no legal move of {board.fen()} has policy index {index}")


def legal_move_mask(fens: list[str]) -> torch.Tensor:
    """(len(fens), 4672) bool: the legal moves of each position."""
    mask = torch.zeros(len(fens), N_MOVES, dtype=torch.bool)
    for row, fen in enumerate(fens):
        board = chess.Board(fen)
        mask[row, [move_index(board, move) for move in board.legal_moves]] = True
    return mask
