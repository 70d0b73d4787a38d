"""Stockfish over UCI: one engine per worker process, deterministic self-play and labels.

Determinism: every task (one game, or one chunk of positions) starts a new UCI game, which clears the hash
table and the search histories, and the engine runs one thread at a fixed node budget. A task's result
therefore does not depend on which worker ran it or on what that worker ran before.

Win probability: W = 1 / (1 + exp(−a · cp)) with a = 0.00368208 per centipawn, the logistic that lichess uses
to turn Stockfish evaluations into winning chances (lila, ``WinPercent.scala``: Win% = 50 + 50 · (2 / (1 +
exp(−0.00368208 · cp)) − 1), fitted by lichess to its games). A mate for the side to move is W = 1, being mated
W = 0. The value target of the network is v = 2W − 1 = tanh(a · cp / 2), in [−1, 1] as AlphaZero's value.
"""

from __future__ import annotations

import math
import multiprocessing
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import chess
import chess.engine
from tqdm import tqdm

__all__ = ["EngineError", "check_engine", "win_probability", "value_target", "LICHESS_WIN_SLOPE", "run_tasks",
           "play_game", "label_chunk", "INSTALL_HINT"]

LICHESS_WIN_SLOPE = 0.00368208
INSTALL_HINT = "run `make chess-external` (it fetches Debian's stockfish 15.1-4 and unpacks it under data/external/)"


class EngineError(RuntimeError):
    """The engine binary is missing or does not speak UCI; the message names the path and the fix."""


def check_engine(path: Path | str) -> Path:
    """``path`` if it is a working UCI engine; else one clear EngineError naming it and the make target."""
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"no chess engine at {path}: {INSTALL_HINT}")
    try:
        engine = chess.engine.SimpleEngine.popen_uci(str(path), timeout=20)
        engine.quit()
    except Exception as error:  # any failure to start or handshake is the same problem for the user
        raise EngineError(f"the chess engine at {path} does not start or does not answer UCI ({error!r}): "
                          f"{INSTALL_HINT}") from error
    return path


def win_probability(cp: int | None, mate: int | None) -> float:
    """W in [0, 1] for the side to move from a centipawn score or a mate distance (lichess's logistic)."""
    if mate is not None:
        return 1.0 if mate > 0 else 0.0
    return 1.0 / (1.0 + math.exp(-LICHESS_WIN_SLOPE * float(cp)))


def value_target(cp: int | None, mate: int | None) -> float:
    """v = 2W − 1 in [−1, 1]."""
    return 2.0 * win_probability(cp, mate) - 1.0


_ENGINE: chess.engine.SimpleEngine | None = None


def _start(path: str, hash_mb: int) -> None:
    global _ENGINE
    _ENGINE = chess.engine.SimpleEngine.popen_uci(path, timeout=20)
    _ENGINE.configure({"Threads": 1, "Hash": hash_mb})


def play_game(task: dict[str, Any]) -> list[str]:
    """Continue a game: ``task`` has id, moves (UCI), random_plies, plies, nodes, seed; returns all moves."""
    board = chess.Board()
    for uci in task["moves"]:
        board.push_uci(uci)
    rng = random.Random(task["seed"])
    key = f"game-{task['id']}"
    for ply in range(task["plies"]):
        if board.is_game_over(claim_draw=True):
            break
        if ply < task["random_plies"]:
            move = rng.choice(sorted(board.legal_moves, key=lambda m: m.uci()))
        else:
            move = _ENGINE.play(board, chess.engine.Limit(nodes=task["nodes"]), game=key).move
        board.push(move)
    return [move.uci() for move in board.move_stack]


def label_chunk(task: dict[str, Any]) -> list[tuple[str, int | None, int | None]]:
    """Label ``task['fens']`` at ``task['nodes']``: (best move UCI, centipawns, mate) for the side to move."""
    key = f"chunk-{task['id']}"
    out = []
    for fen in task["fens"]:
        board = chess.Board(fen)
        result = _ENGINE.play(board, chess.engine.Limit(nodes=task["nodes"]), info=chess.engine.INFO_SCORE,
                              game=key)
        score = result.info["score"].pov(board.turn)
        out.append((result.move.uci(), score.score(), score.mate()))
    return out


def _call(args: tuple[Callable, int, dict[str, Any]]) -> tuple[int, Any]:
    function, index, task = args
    return index, function(task)


def run_tasks(function: Callable[[dict[str, Any]], Any], tasks: list[dict[str, Any]], engine: Path | str,
              hash_mb: int, workers: int, desc: str, progress: bool = True,
              weights: Iterable[int] | None = None) -> list[Any]:
    """``function(task)`` for every task, in ``workers`` processes with one engine each; results in task order.

    The tqdm bar counts ``weights`` (e.g. positions per chunk) when given, else tasks.
    """
    path = str(check_engine(engine))
    weights = list(weights) if weights is not None else [1] * len(tasks)
    results: list[Any] = [None] * len(tasks)
    bar = tqdm(total=sum(weights), desc=desc, mininterval=2.0, disable=not progress)
    if workers <= 1:
        _start(path, hash_mb)
        try:
            for index, task in enumerate(tasks):
                results[index] = function(task)
                bar.update(weights[index])
        finally:
            _ENGINE.quit()
    else:
        # fork, not spawn: spawn re-runs the caller's __main__ (a Snakemake script) in every worker. Forking is
        # safe here because no engine (and so no asyncio thread) is open in the parent at this point.
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_start, initargs=(path, hash_mb)) as pool:
            jobs = [(function, index, task) for index, task in enumerate(tasks)]
            for index, value in pool.imap_unordered(_call, jobs):
                results[index] = value
                bar.update(weights[index])
    bar.close()
    return results
