"""Small chess fixtures for the chess_nmf tests: seeded random games and a hand-written Polyglot book."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import chess
import chess.polyglot

STOCKFISH = Path(__file__).resolve().parents[1] / "data/external/stockfish/usr/games/stockfish"


def random_game_fens(n_games: int, plies: int, seed: int) -> list[str]:
    """FENs of every position of ``n_games`` seeded random games (legal moves drawn uniformly)."""
    rng = random.Random(seed)
    fens = []
    for _ in range(n_games):
        board = chess.Board()
        for _ in range(plies):
            moves = sorted(board.legal_moves, key=lambda m: m.uci())
            if not moves:
                break
            fens.append(board.fen())
            board.push(rng.choice(moves))
    return fens


def _polyglot_move(move: chess.Move) -> int:
    promotion = {None: 0, chess.KNIGHT: 1, chess.BISHOP: 2, chess.ROOK: 3, chess.QUEEN: 4}[move.promotion]
    return (chess.square_file(move.to_square) | chess.square_rank(move.to_square) << 3
            | chess.square_file(move.from_square) << 6 | chess.square_rank(move.from_square) << 9 | promotion << 12)


def write_book(path: Path, lines: dict[str, int]) -> Path:
    """A Polyglot book holding each space-separated UCI line of ``lines`` with its weight."""
    entries = {}
    for line, weight in lines.items():
        board = chess.Board()
        for uci in line.split():
            move = chess.Move.from_uci(uci)
            key = (chess.polyglot.zobrist_hash(board), _polyglot_move(move))
            entries[key] = max(entries.get(key, 0), weight)
            board.push(move)
    with open(path, "wb") as handle:
        for (key, move), weight in sorted(entries.items()):
            handle.write(struct.pack(">QHHI", key, move, weight, 0))
    return path
