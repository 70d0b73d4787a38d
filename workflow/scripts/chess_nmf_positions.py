"""Snakemake adapter: opening-book games continued by Stockfish -> deduplicated positions split by game."""

from pathlib import Path

from superposition.chess_nmf.config import ChessPositionsConfig
from superposition.chess_nmf.positions import make_positions
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    config = parse_config(ChessPositionsConfig, snakemake.params.section)
    manifest = make_positions(config, Path(snakemake.output.manifest).parent, workers=snakemake.threads)
    log.info("%d positions (%d before deduplication) from %d games; split %s", manifest["positions"],
             manifest["positions_before_dedup"], manifest["games"], manifest["split_counts"])
