"""Position pipeline invariants: book walks, deduplication, the split by game; the engine wrapper."""

import random

import chess
import pytest

from superposition.chess_nmf.engine import (EngineError, check_engine, label_chunk, run_tasks, value_target,
                                            win_probability)
from superposition.chess_nmf.positions import book_line, deduplicate, game_positions, heldout_positions, split_games
from tests.chess_factories import STOCKFISH, random_game_fens, write_book


def test_book_line_follows_the_book_and_its_weights(tmp_path):
    book = write_book(tmp_path / "book.bin", {"e2e4 e7e5 g1f3": 10, "d2d4": 0, "e2e4 c7c5": 1})
    lines = {tuple(book_line(book, random.Random(seed), 10)) for seed in range(30)}
    assert ("e2e4", "e7e5", "g1f3") in lines and ("e2e4", "c7c5") in lines
    assert all(line[0] == "e2e4" for line in lines)  # weight 0 is never drawn
    assert book_line(book, random.Random(0), 1) == ["e2e4"]


def test_game_positions_skip_positions_without_moves():
    fool = "f2f3 e7e5 g2g4 d8h4".split()  # ends in mate: the final position has no legal move
    positions = game_positions(fool)
    assert [ply for ply, _ in positions] == [0, 1, 2, 3]
    assert positions[0][1] == chess.STARTING_FEN


def _row(fen, game, ply, split):
    return {"fen": fen, "game": game, "ply": ply, "split": split, "book": "b"}


def test_deduplicate_keeps_train_first_and_ignores_clocks():
    start = chess.STARTING_FEN
    same_board_other_clock = start.replace(" 0 1", " 4 3")
    rows = [_row(start, 1, 0, "test"), _row(same_board_other_clock, 0, 4, "train"), _row(start, 2, 0, "train")]
    kept = deduplicate(rows)
    assert len(kept) == 1 and kept[0]["split"] == "train" and kept[0]["game"] == 0


def test_split_by_game_has_no_game_in_both_splits():
    test = split_games(50, 0.2, seed=1)
    assert len(test) == 10 and test == split_games(50, 0.2, seed=1) and test != split_games(50, 0.2, seed=2)
    # Games that share their openings (every game starts from the same position, many repeat early moves).
    rows = [_row(fen, g, ply, "test" if g in test else "train")
            for g in range(50) for ply, fen in enumerate(random_game_fens(1, 12, seed=g % 7))]
    kept = deduplicate(rows)
    games = {split: {r["game"] for r in kept if r["split"] == split} for split in ("train", "test")}
    boards = {split: {chess.Board(r["fen"]).epd() for r in kept if r["split"] == split} for split in ("train", "test")}
    assert not games["train"] & games["test"] and not boards["train"] & boards["test"]
    assert len(kept) == len({chess.Board(r["fen"]).epd() for r in rows}) < len(rows)


def test_heldout_positions_are_test_positions_and_seeded():
    rows = [_row(f"fen{i}", i, 0, "test" if i % 3 == 0 else "train") for i in range(30)]
    chosen = heldout_positions(rows, 5, seed=0)
    assert len(chosen) == 5 and all(int(f[3:]) % 3 == 0 for f in chosen) and chosen == heldout_positions(rows, 5, 0)
    with pytest.raises(ValueError, match="test split holds 10"):
        heldout_positions(rows, 11, seed=0)


def test_win_probability_known_values():
    assert win_probability(0, None) == 0.5
    assert win_probability(None, 3) == 1.0 and win_probability(None, -2) == 0.0
    assert win_probability(100, None) == pytest.approx(1 / (1 + 2.718281828459045 ** -0.368208))
    assert value_target(-100, None) == pytest.approx(-value_target(100, None))


def test_missing_engine_names_path_and_make_target(tmp_path):
    with pytest.raises(EngineError, match=r"no chess engine at .*nope.*make chess-external"):
        check_engine(tmp_path / "nope")
    bad = tmp_path / "fake"
    bad.write_text("#!/bin/sh\nexit 1\n")
    bad.chmod(0o755)
    with pytest.raises(EngineError, match="does not answer UCI.*make chess-external"):
        check_engine(bad)


@pytest.mark.skipif(not STOCKFISH.exists(), reason="Stockfish not unpacked (make chess-external)")
def test_labels_do_not_depend_on_the_worker_layout():
    fens = [chess.STARTING_FEN, "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3",
            "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1"]
    tasks = [{"id": i, "fens": fens[i:i + 2], "nodes": 64} for i in range(0, 3, 2)]
    one = run_tasks(label_chunk, tasks, STOCKFISH, 1, 1, "labels", progress=False)
    two = run_tasks(label_chunk, tasks, STOCKFISH, 1, 2, "labels", progress=False)
    assert one == two
    assert one[1][0][0] == "d1d8" and one[1][0][2] == 1  # back-rank mate in one
