"""Stage `make_labels`: Stockfish's best move and win probability for every position, cached with a manifest.

The artefact (``data/chess_nmf/labels/``): ``labels.safetensors`` with, per row of ``positions.csv``,
``best_move`` (int64, AlphaZero policy index in the side-to-move frame), ``value`` (float32, v = 2W − 1 with
lichess's logistic W, see :mod:`superposition.chess_nmf.engine`), ``cp`` (int32, centipawns for the side to
move; 0 when a mate was found) and ``mate`` (int32, moves to mate, + for the side to move; 0 when none); and
``manifest.json`` (its SHA-256, the positions' SHA-256, the engine's SHA-256, node budget, mapping).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import chess
import torch

from superposition.chess_nmf.config import ChessLabelsConfig
from superposition.chess_nmf.encoding import move_index
from superposition.chess_nmf.engine import LICHESS_WIN_SLOPE, check_engine, label_chunk, run_tasks, value_target
from superposition.chess_nmf.positions import read_positions
from superposition.chess_nmf.store import load_tensors, save_tensors, write_json
from superposition.io import read_json, sha256_file

__all__ = ["make_labels", "read_labels", "WIN_MAPPING"]

WIN_MAPPING = (f"W = 1 / (1 + exp(-{LICHESS_WIN_SLOPE} * cp)) (lichess, lila WinPercent.scala); mate for the side "
               "to move W = 1, mated W = 0; value = 2W - 1")


def make_labels(positions_dir: Path | str, engine: Path | str, config: ChessLabelsConfig, output_dir: Path | str,
                workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Label every position of ``positions_dir`` with Stockfish at ``config.nodes`` nodes, in ``workers`` processes."""
    check_engine(engine)
    rows = read_positions(positions_dir)
    fens = [row["fen"] for row in rows]
    size = config.chunk_positions
    tasks = [{"id": i, "fens": fens[start:start + size], "nodes": config.nodes}
             for i, start in enumerate(range(0, len(fens), size))]
    chunks = run_tasks(label_chunk, tasks, engine, config.hash_mb, workers, "Stockfish labels", progress,
                       weights=[len(t["fens"]) for t in tasks])
    results = [item for chunk in chunks for item in chunk]
    best = [move_index(chess.Board(fen), chess.Move.from_uci(uci)) for fen, (uci, _, _) in zip(fens, results)]
    tensors = {
        "best_move": torch.tensor(best, dtype=torch.int64),
        "value": torch.tensor([value_target(cp, mate) for _, cp, mate in results], dtype=torch.float32),
        "cp": torch.tensor([cp if cp is not None else 0 for _, cp, _ in results], dtype=torch.int32),
        "mate": torch.tensor([mate if mate is not None else 0 for _, _, mate in results], dtype=torch.int32),
    }
    output_dir = Path(output_dir)
    digest = save_tensors(tensors, output_dir / "labels.safetensors", {"format": "chess_nmf labels v1"})
    manifest = {
        "version": 1, "positions": len(rows), "file": "labels.safetensors", "sha256": digest,
        "positions_sha256": read_json(Path(positions_dir) / "manifest.json")["positions_sha256"],
        "engine": {"path": str(engine), "sha256": sha256_file(engine)}, "win_mapping": WIN_MAPPING,
        "mates": int((tensors["mate"] != 0).sum()), "config": asdict(config),
    }
    write_json(output_dir / "manifest.json", manifest)
    return manifest


def read_labels(folder: Path | str, positions_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The label tensors, after checking the file's SHA-256 (and the positions it belongs to, if given)."""
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if sha256_file(folder / manifest["file"]) != manifest["sha256"]:
        raise ValueError(f"{folder}/{manifest['file']} does not match its manifest: delete {folder} and rebuild it")
    if positions_sha256 is not None and manifest["positions_sha256"] != positions_sha256:
        raise ValueError(f"the labels in {folder} belong to other positions: rebuild them (`snakemake "
                         "chess_nmf_labels`)")
    return load_tensors(folder / manifest["file"])
