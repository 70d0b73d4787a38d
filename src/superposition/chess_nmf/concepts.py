"""Per-square chess concepts (python-chess) and their correlation with the factors' coefficients.

Every concept is a map of 64 values per position, in the network's side-to-move frame ("own" = the side to
move, whose pieces start on ranks 1–2; see :mod:`superposition.chess_nmf.encoding`):

=============================  =================================================================================
own_attacks, opponent_attacks  number of the side's pieces attacking the square
opponent_diagonal_reach        number of opponent bishops and queens whose diagonal rays reach the square
                               (through empty squares, up to and including the first piece): the survey's
                               Figure 1a example, "developed diagonal moves for opponent"
own_diagonal_reach             the same for the side to move
own_pawns, opponent_pawns      pawn structure: 1 where the side's pawn stands
own_passed_pawns,              1 where the side has a passed pawn (no enemy pawn ahead on its own or an
opponent_passed_pawns          adjacent file)
own_king_zone,                 king safety zone: the king's square and the (up to) 8 squares around it
opponent_king_zone
material_balance               board-wide constant: own − opponent material (1, 3, 3, 5, 9 pawns)
phase                          board-wide constant: non-pawn material of both sides / 62 (1 at the start)
=============================  =================================================================================

Score: the Pearson correlation r between a factor's coefficient and a concept over all (position, square)
pairs, i.e. over the n·64 rows of C; a concept without variance on the sample scores r = 0.
A method's match with a concept is max_j |r_jc| over its factors j (|r| because SVD/PCA signs are arbitrary;
for NMF a negative r is a factor that is *absent* where the concept holds); its overall concept match is the
mean of these maxima over concepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from superposition.chess_nmf.encoding import oriented
from superposition.chess_nmf.store import load_tensors, read_metadata, save_tensors, write_json

__all__ = ["CONCEPTS", "concept_maps", "pearson_matrix", "concept_match", "make_concept_maps", "score_methods"]

CONCEPTS = ("own_attacks", "opponent_attacks", "opponent_diagonal_reach", "own_diagonal_reach", "own_pawns",
            "opponent_pawns", "own_passed_pawns", "opponent_passed_pawns", "own_king_zone", "opponent_king_zone",
            "material_balance", "phase")
_VALUES = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9, chess.KING: 0}


def _diagonal_reach(view: chess.Board, color: bool) -> np.ndarray:
    reach = np.zeros(64, dtype=np.float32)
    for square in view.pieces(chess.BISHOP, color) | view.pieces(chess.QUEEN, color):
        # BB_DIAG_ATTACKS[s][0]: both full diagonals through s (BB_DIAG_MASKS omits the board edges).
        for target in chess.SquareSet(view.attacks_mask(square) & chess.BB_DIAG_ATTACKS[square][0]):
            reach[target] += 1
    return reach


def _passed(view: chess.Board, color: bool) -> np.ndarray:
    out = np.zeros(64, dtype=np.float32)
    enemy = view.pieces(chess.PAWN, not color)
    for square in view.pieces(chess.PAWN, color):
        file, rank = chess.square_file(square), chess.square_rank(square)
        ahead = range(rank + 1, 8) if color == chess.WHITE else range(0, rank)
        blocked = any(chess.square(f, r) in enemy for f in (file - 1, file, file + 1) if 0 <= f < 8 for r in ahead)
        out[square] = 0.0 if blocked else 1.0
    return out


def _king_zone(view: chess.Board, color: bool) -> np.ndarray:
    out = np.zeros(64, dtype=np.float32)
    king = view.king(color)
    if king is not None:
        out[list(chess.SquareSet(chess.BB_KING_ATTACKS[king] | chess.BB_SQUARES[king]))] = 1.0
    return out


def concept_maps(fen: str) -> np.ndarray:
    """(len(CONCEPTS), 64) float32 concept values of one position, side-to-move frame."""
    view = oriented(chess.Board(fen))
    us, them = chess.WHITE, chess.BLACK  # in the oriented view the side to move is White
    own_attacks = np.array([len(view.attackers(us, s)) for s in chess.SQUARES], dtype=np.float32)
    opp_attacks = np.array([len(view.attackers(them, s)) for s in chess.SQUARES], dtype=np.float32)
    pawns = [np.zeros(64, dtype=np.float32) for _ in range(2)]
    for index, color in enumerate((us, them)):
        pawns[index][list(view.pieces(chess.PAWN, color))] = 1.0
    material = {c: sum(_VALUES[p.piece_type] for p in view.piece_map().values() if p.color == c) for c in (us, them)}
    non_pawn = sum(_VALUES[p.piece_type] for p in view.piece_map().values() if p.piece_type != chess.PAWN)
    return np.stack([own_attacks, opp_attacks, _diagonal_reach(view, them), _diagonal_reach(view, us), pawns[0],
                     pawns[1], _passed(view, us), _passed(view, them), _king_zone(view, us), _king_zone(view, them),
                     np.full(64, material[us] - material[them], dtype=np.float32),
                     np.full(64, non_pawn / 62.0, dtype=np.float32)])


def make_concept_maps(fens: list[str], output: Path | str, positions_sha256: str) -> dict[str, torch.Tensor]:
    """Stage: concept maps of ``fens`` → safetensors {concept: (n·64,) float32}, rows as in the activation caches."""
    maps = np.stack([concept_maps(fen) for fen in fens]) if fens else np.zeros((0, len(CONCEPTS), 64), np.float32)
    tensors = {name: torch.from_numpy(np.ascontiguousarray(maps[:, i, :].reshape(-1))) for i, name in
               enumerate(CONCEPTS)}
    save_tensors(tensors, output, {"positions_sha256": positions_sha256, "concepts": list(CONCEPTS)})
    return tensors


def pearson_matrix(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """(a, b) Pearson correlations between the columns of X (n, a) and Y (n, b); 0 where a column is constant."""
    X, Y = X.double(), Y.double()
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    xs, ys = Xc.norm(dim=0), Yc.norm(dim=0)
    r = (Xc.T @ Yc) / (xs[:, None] * ys[None, :])
    return torch.where((xs[:, None] > 1e-12) & (ys[None, :] > 1e-12), r, torch.zeros_like(r))


def concept_match(r: torch.Tensor) -> dict[str, Any]:
    """From r (factors, concepts): per concept the best |r| and its factor, and their mean over concepts."""
    best, factor = r.abs().max(dim=0)
    return {"best_abs_r": best.tolist(), "best_factor": factor.tolist(),
            "best_signed_r": r.gather(0, factor[None]).squeeze(0).tolist(), "mean_best_abs_r": float(best.mean())}


def score_methods(coefficients: dict[str, torch.Tensor], concepts: dict[str, torch.Tensor]) -> dict[str, Any]:
    """For each method's C (n·64, k): its r matrix against the concepts and the concept match."""
    Y = torch.stack([concepts[name].double() for name in CONCEPTS], dim=1)  # (n·64, concepts)
    out = {}
    for method, C in sorted(coefficients.items()):
        r = pearson_matrix(C, Y)
        out[method] = {"r": r.tolist(), **concept_match(r)}
    return out


def concept_scores(decompositions: dict[str, dict[int, Path]], concepts_path: Path | str, output: Path | str,
                   methods: tuple[str, ...] = ("nmf", "svd", "pca")) -> dict[str, Any]:
    """Stage: correlate every decomposition's coefficients with the concept maps → ``concept_scores.json``.

    ``decompositions`` maps network → block → the decomposition safetensors written by the decompose stage."""
    concepts = load_tensors(concepts_path)
    expected = read_metadata(concepts_path)["positions_sha256"]
    result: dict[str, Any] = {"concepts": list(CONCEPTS), "networks": {}}
    for network, blocks in sorted(decompositions.items()):
        result["networks"][network] = {}
        for block, path in sorted(blocks.items()):
            if read_metadata(path).get("positions_sha256") != expected:
                raise ValueError(f"{path} was computed on other positions than the concept maps {concepts_path}; "
                                 "rebuild the activations and decompositions (`snakemake chess_nmf`)")
            tensors = load_tensors(path, [f"{m}_C" for m in methods])
            coefficients = {m: tensors[f"{m}_C"].float() for m in methods}
            if coefficients[methods[0]].shape[0] != concepts[CONCEPTS[0]].shape[0]:
                raise ValueError(f"{path}: {coefficients[methods[0]].shape[0]} rows but the concept maps have "
                                 f"{concepts[CONCEPTS[0]].shape[0]}; rebuild both from the same positions")
            result["networks"][network][f"block{block}"] = score_methods(coefficients, concepts)
    write_json(output, result)
    return result
