"""Snakemake adapter: Stockfish's best move and win probability for every position (one engine per core)."""

from pathlib import Path

from superposition.chess_nmf.config import ChessLabelsConfig
from superposition.chess_nmf.labels import make_labels
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    config = parse_config(ChessLabelsConfig, snakemake.params.section)
    manifest = make_labels(Path(snakemake.input.manifest).parent, snakemake.input.engine, config,
                           Path(snakemake.output.manifest).parent, workers=snakemake.threads)
    log.info("%d positions labelled at %d nodes (%d mates)", manifest["positions"], config.nodes, manifest["mates"])
