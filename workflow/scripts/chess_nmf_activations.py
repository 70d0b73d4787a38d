"""Snakemake adapter: cache every block's output of one network on the held-out positions."""

from pathlib import Path

from superposition.chess_nmf.activations import make_activations
from superposition.chess_nmf.config import ChessActivationsConfig
from superposition.chess_nmf.positions import heldout_positions, read_positions
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    config = parse_config(ChessActivationsConfig, snakemake.params.section)
    fens = heldout_positions(read_positions(Path(snakemake.input.positions).parent), config.positions, config.seed)
    network = snakemake.wildcards.network
    if network == "leela":
        from superposition.chess_nmf.leela import make_leela_activations
        manifests = make_leela_activations(snakemake.input.network, fens, snakemake.params.folder, config.dtype,
                                           config.shard_rows, config.batch_size)
    else:
        manifests = make_activations(snakemake.input.network, fens, network, snakemake.params.folder, config.dtype,
                                     config.shard_rows, config.batch_size, snakemake.params.device)
    log.info("%s: %d blocks cached, %d rows each", network, len(manifests), manifests[0]["token_count"])
