"""Snakemake adapter: every chess_nmf figure (training, FVE, nestedness, concept matches, boards) as PNG."""

from pathlib import Path

from superposition.chess_nmf.config import ChessActivationsConfig, ChessConceptsConfig
from superposition.chess_nmf.figures import make_figures
from superposition.chess_nmf.positions import heldout_positions, read_positions
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    activations = parse_config(ChessActivationsConfig, snakemake.params.activations)
    fens = heldout_positions(read_positions(Path(snakemake.input.positions).parent), activations.positions,
                             activations.seed)
    paths = iter(snakemake.input.sweeps)  # expand() order: network-major, then block
    sweeps = {f"{n}, block {b}": Path(next(paths)) for n in snakemake.params.networks
              for b in snakemake.params.sweep_blocks}
    written = make_figures(snakemake.input.network_metrics, sweeps, snakemake.input.scores,
                           snakemake.input.figure_tensors, fens,
                           parse_config(ChessConceptsConfig, snakemake.params.concepts), snakemake.params.folder)
    log.info("%d figures written", len(written))
