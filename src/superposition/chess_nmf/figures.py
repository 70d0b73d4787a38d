"""Stage `make_figures`: every PNG of `chess_nmf` from the stage outputs (training metrics, decompositions,
concept scores), drawn by :mod:`superposition.chess_nmf.plots`."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from superposition.chess_nmf import plots
from superposition.chess_nmf.concepts import CONCEPTS
from superposition.chess_nmf.config import ChessConceptsConfig
from superposition.chess_nmf.store import load_tensors
from superposition.io import read_json
from superposition.runtime import derived_seed

__all__ = ["FIGURE_CONCEPTS", "figure_names", "make_figures"]

# Concepts whose best-matching NMF factor gets a board figure (the first is the survey's Figure 1a example).
FIGURE_CONCEPTS = ("opponent_diagonal_reach", "opponent_king_zone", "own_pawns")


def figure_names(config: ChessConceptsConfig) -> list[str]:
    """The PNG names (without .png) that :func:`make_figures` writes for this config."""
    return (["training", "variance_explained", "nestedness", "concept_matches"]
            + [f"boards_best_{c}" for c in FIGURE_CONCEPTS]
            + [f"boards_random_{i}" for i in range(config.random_factors)])


def make_figures(network_metrics: Path | str, sweep_metrics: dict[str, Path], concept_scores: Path | str,
                 figure_tensors: Path | str, fens: list[str], config: ChessConceptsConfig,
                 output_dir: Path | str) -> list[Path]:
    """Write every figure under ``output_dir``; ``sweep_metrics`` maps a label ('trained, block 3') to the
    decomposition metrics of a sweep block; ``figure_tensors`` is the trained network's figure-block
    decomposition."""
    output_dir = Path(output_dir)
    written = []

    def save(fig, name: str) -> None:
        plots.save_figure(fig, output_dir / f"{name}.png")
        written.append(output_dir / f"{name}.png")

    metrics = read_json(network_metrics)
    save(plots.plot_training(metrics["history"]), "training")
    sweeps = {label: read_json(path) for label, path in sweep_metrics.items()}
    save(plots.plot_variance_explained(sweeps), "variance_explained")
    save(plots.plot_nestedness(sweeps), "nestedness")
    scores = read_json(concept_scores)
    block = f"block{config.figure_block}"
    matches = {f"{m.upper()} {net}": scores["networks"][net][block][m]["best_abs_r"]
               for net in sorted(scores["networks"]) for m in ("nmf", "svd")}
    save(plots.plot_concept_matches(list(CONCEPTS), matches), "concept_matches")
    coefficients = load_tensors(figure_tensors, ["nmf_C"])["nmf_C"].float().numpy().reshape(len(fens), 64, -1)
    rng = random.Random(derived_seed(config.seed, "figures"))
    shown = sorted(rng.sample(range(len(fens)), min(config.figure_positions, len(fens))))
    trained = scores["networks"]["trained"][block]["nmf"]
    for concept in FIGURE_CONCEPTS:
        c = CONCEPTS.index(concept)
        factor, r = trained["best_factor"][c], trained["best_signed_r"][c]
        save(plots.plot_factor_boards([fens[i] for i in shown], coefficients[shown, :, factor],
                                      f"trained network, {block}, NMF factor {factor}: best match for {concept} "
                                      f"(r = {r:.2f})"), f"boards_best_{concept}")
    k = coefficients.shape[2]
    for i, factor in enumerate(rng.sample(range(k), min(config.random_factors, k))):
        column = np.asarray(trained["r"])[factor]
        best = int(np.abs(column).argmax())
        save(plots.plot_factor_boards([fens[j] for j in shown], coefficients[shown, :, factor],
                                      f"trained network, {block}, NMF factor {factor} (drawn at random; closest "
                                      f"concept {CONCEPTS[best]}, r = {column[best]:.2f})"), f"boards_random_{i}")
    return written
