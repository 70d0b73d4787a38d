"""Positions: games from Polyglot opening books continued by Stockfish self-play, deduplicated, split by game.

A game is a seeded weighted walk through one opening book (the books take turns), a few uniformly random
plies, then Stockfish self-play at a fixed node budget. Every position of a game where the side to move has a
legal move is kept. Games are assigned to train or test first; positions are then deduplicated by their EPD
(pieces, side to move, castling, en passant; move clocks ignored), train games first, so a position seen in
a training game never reappears in the test split.

The artefact (``data/chess_nmf/positions/``): ``positions.csv`` (fen, game, ply, split, book) and
``manifest.json`` (counts, SHA-256 of the CSV, of each book and of the engine, the settings).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import chess
import chess.polyglot

from superposition.chess_nmf.config import ChessPositionsConfig
from superposition.chess_nmf.engine import check_engine, play_game, run_tasks
from superposition.chess_nmf.store import write_json
from superposition.io import atomic_write_text, read_json, sha256_file
from superposition.runtime import derived_seed

__all__ = ["book_line", "make_games", "game_positions", "split_games", "deduplicate", "make_positions",
           "read_positions", "PositionTable", "heldout_positions"]

FIELDS = ("fen", "game", "ply", "split", "book")
PositionTable = list[dict[str, Any]]


def book_line(book: Path | str, rng: random.Random, max_plies: int) -> list[str]:
    """A walk through a Polyglot book from the start position: each move drawn by the book's weights."""
    board = chess.Board()
    with chess.polyglot.open_reader(book) as reader:
        for _ in range(max_plies):
            entries = [e for e in reader.find_all(board) if e.weight > 0 and board.is_legal(e.move)]
            if not entries:
                break
            board.push(rng.choices([e.move for e in entries], weights=[e.weight for e in entries])[0])
    return [move.uci() for move in board.move_stack]


def make_games(config: ChessPositionsConfig, workers: int, progress: bool = True) -> list[dict[str, Any]]:
    """``config.games`` games: {id, book, moves (UCI)}."""
    check_engine(config.engine)
    tasks = []
    for game in range(config.games):
        book = config.books[game % len(config.books)]
        rng = random.Random(derived_seed(config.seed, "book", game))
        tasks.append({"id": game, "book": Path(book).name, "moves": book_line(book, rng, config.book_max_plies),
                      "plies": config.continuation_plies, "random_plies": config.random_first_plies,
                      "nodes": config.play_nodes, "seed": derived_seed(config.seed, "plies", game)})
    moves = run_tasks(play_game, tasks, config.engine, 1, workers, "self-play games", progress)
    return [{"id": task["id"], "book": task["book"], "moves": line} for task, line in zip(tasks, moves)]


def game_positions(moves: list[str]) -> list[tuple[int, str]]:
    """(ply, FEN) of every position of a game where the side to move has a legal move."""
    board = chess.Board()
    out = []
    for ply in range(len(moves) + 1):
        if any(board.legal_moves):
            out.append((ply, board.fen()))
        if ply < len(moves):
            board.push_uci(moves[ply])
    return out


def split_games(n_games: int, test_fraction: float, seed: int) -> set[int]:
    """The ids of the test games: a seeded sample of round(test_fraction · n) games (at least one)."""
    n_test = min(n_games - 1, max(1, round(test_fraction * n_games))) if n_games > 1 else 0
    return set(random.Random(derived_seed(seed, "split")).sample(range(n_games), n_test))


def _epd_key(fen: str) -> str:
    return chess.Board(fen).epd()


def deduplicate(rows: PositionTable) -> PositionTable:
    """Rows with unique EPD, train rows first (so no test position also occurs in training), then by game, ply."""
    order = sorted(rows, key=lambda r: (r["split"] != "train", r["game"], r["ply"]))
    seen: set[str] = set()
    kept = []
    for row in order:
        key = _epd_key(row["fen"])
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _csv_text(rows: PositionTable) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def make_positions(config: ChessPositionsConfig, output_dir: Path | str, workers: int = 1,
                   progress: bool = True) -> dict[str, Any]:
    """Stage: games → deduplicated positions split by game → ``positions.csv`` + ``manifest.json``."""
    output_dir = Path(output_dir)
    games = make_games(config, workers, progress)
    test = split_games(len(games), config.test_fraction, config.seed)
    rows = [{"fen": fen, "game": game["id"], "ply": ply, "split": "test" if game["id"] in test else "train",
             "book": game["book"]} for game in games for ply, fen in game_positions(game["moves"])]
    kept = deduplicate(rows)
    text = _csv_text(kept)
    atomic_write_text(output_dir / "positions.csv", text)
    manifest = {
        "version": 1, "positions": len(kept), "positions_before_dedup": len(rows), "games": len(games),
        "test_games": sorted(test),
        "split_counts": {s: sum(r["split"] == s for r in kept) for s in ("train", "test")},
        "positions_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "books": {Path(b).name: sha256_file(b) for b in config.books},
        "engine": {"path": config.engine, "sha256": sha256_file(config.engine)},
        "config": asdict(config),
    }
    write_json(output_dir / "manifest.json", manifest)
    return manifest


def read_positions(folder: Path | str) -> PositionTable:
    """The rows of ``positions.csv`` (game and ply as int), after checking its SHA-256 against the manifest."""
    folder = Path(folder)
    text = (folder / "positions.csv").read_text(encoding="utf-8")
    expected = read_json(folder / "manifest.json")["positions_sha256"]
    if hashlib.sha256(text.encode()).hexdigest() != expected:
        raise ValueError(f"{folder}/positions.csv does not match its manifest: delete {folder} and rebuild it "
                         "(`snakemake chess_nmf_positions`)")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["game"], row["ply"] = int(row["game"]), int(row["ply"])
    return rows


def heldout_positions(rows: PositionTable, n: int, seed: int) -> list[str]:
    """FENs of a seeded sample of ``n`` test-split positions, in table order (shared by activations and concepts)."""
    test = [row["fen"] for row in rows if row["split"] == "test"]
    if n > len(test):
        raise ValueError(f"chess_nmf.activations.positions = {n} but the test split holds {len(test)} positions; "
                         "lower it or generate more games (chess_nmf.positions.games)")
    chosen = sorted(random.Random(derived_seed(seed, "heldout")).sample(range(len(test)), n))
    return [test[i] for i in chosen]
