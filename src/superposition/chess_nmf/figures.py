"""Stage `make_figures`: every PNG of `chess_nmf` from the stage outputs (training metrics, decompositions,
concept scores), drawn by :mod:`superposition.chess_nmf.plots`."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from superposition.chess_nmf import plots
from superposition.chess_nmf.concepts import CONCEPTS
from superposition.chess_nmf.config import RANDOM_BOARD_FIGURES, ChessActivationsConfig, ChessConceptsConfig
from superposition.chess_nmf.positions import heldout_positions, read_positions
from superposition.chess_nmf.store import load_tensors
from superposition.io import read_json
from superposition.runtime import derived_seed

__all__ = ["FIGURE_CONCEPTS", "figure_names", "make_figures", "make_report_figures"]

# Concepts whose best-matching NMF factor gets a board figure (the first is the survey's Figure 1a example).
FIGURE_CONCEPTS = ("opponent_diagonal_reach", "opponent_king_zone", "own_pawns")


def figure_names() -> list[str]:
    """The PNG names (without .png) that :func:`make_figures` writes (the manifest declares the same list)."""
    return (["training", "variance_explained", "nestedness", "concept_matches"]
            + [f"boards_best_{c}" for c in FIGURE_CONCEPTS]
            + [f"boards_random_{i}" for i in range(RANDOM_BOARD_FIGURES)])


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
    for i, factor in enumerate(rng.sample(range(k), RANDOM_BOARD_FIGURES)):
        column = np.asarray(trained["r"])[factor]
        best = int(np.abs(column).argmax())
        save(plots.plot_factor_boards([fens[j] for j in shown], coefficients[shown, :, factor],
                                      f"trained network, {block}, NMF factor {factor} (drawn at random; closest "
                                      f"concept {CONCEPTS[best]}, r = {column[best]:.2f})"), f"boards_random_{i}")
    return written


def make_report_figures(results_dir: Path | str, data_dir: Path | str, concepts: dict, activations: dict,
                        sweep_blocks: list[int]) -> list[Path]:
    """Every figure of the report, from the run's files: ``results_dir`` (results/chess_nmf) and ``data_dir``
    (data/chess_nmf, for the held-out positions and the figure block's factors); ``concepts`` and ``activations``
    are the config sections, ``sweep_blocks`` the blocks with a rank sweep."""
    from superposition.config import parse_config

    results, data = Path(results_dir), Path(data_dir)
    concepts_config = parse_config(ChessConceptsConfig, concepts)
    activations_config = parse_config(ChessActivationsConfig, activations)
    fens = heldout_positions(read_positions(data / "positions"), activations_config.positions, activations_config.seed)
    networks = sorted(path.name for path in (results / "decompositions").iterdir() if path.is_dir())
    sweeps = {f"{network}, block {block}": results / "decompositions" / network / f"block{block}.json"
              for network in networks for block in sweep_blocks}
    return make_figures(results / "network_metrics.json", sweeps, results / "concept_scores.json",
                        data / "decompositions" / "trained" / f"block{concepts_config.figure_block}.safetensors", fens,
                        concepts_config, results / "figures")
