"""Snakemake adapter: train the AlphaZero-style network on Stockfish labels; evaluate it against a random copy."""

from pathlib import Path

from superposition.chess_nmf.config import ChessNetworkConfig, ChessTrainConfig
from superposition.chess_nmf.train import train_network
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    metrics = train_network(Path(snakemake.input.positions).parent, Path(snakemake.input.labels).parent,
                            parse_config(ChessNetworkConfig, snakemake.params.network),
                            parse_config(ChessTrainConfig, snakemake.params.train), snakemake.params.device,
                            snakemake.output.trained, snakemake.output.random, snakemake.output.metrics)
    for name in ("trained", "random"):
        log.info("%s: policy top-1 %.3f, value MSE %.4f", name, metrics[name]["policy_top1"],
                 metrics[name]["value_mse"])
