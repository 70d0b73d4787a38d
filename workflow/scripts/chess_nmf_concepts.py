"""Snakemake adapter: per-square concept maps of the held-out positions, correlated with every factor."""

from pathlib import Path

from superposition.chess_nmf.activations import fens_sha256
from superposition.chess_nmf.concepts import concept_scores, make_concept_maps
from superposition.chess_nmf.config import ChessActivationsConfig
from superposition.chess_nmf.positions import heldout_positions, read_positions
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    config = parse_config(ChessActivationsConfig, snakemake.params.activations)
    fens = heldout_positions(read_positions(Path(snakemake.input.positions).parent), config.positions, config.seed)
    make_concept_maps(fens, snakemake.output.maps, fens_sha256(fens))
    paths = iter(snakemake.input.tensors)  # expand() order: network-major, then block
    decompositions = {n: {b: Path(next(paths)) for b in snakemake.params.blocks} for n in snakemake.params.networks}
    scores = concept_scores(decompositions, snakemake.output.maps, snakemake.output.scores)
    for network, blocks in scores["networks"].items():
        for block, methods in blocks.items():
            log.info("%s %s: concept match NMF %.3f, SVD %.3f, PCA %.3f", network, block,
                     methods["nmf"]["mean_best_abs_r"], methods["svd"]["mean_best_abs_r"],
                     methods["pca"]["mean_best_abs_r"])
