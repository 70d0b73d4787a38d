"""Snakemake adapter: train every architecture's grid of the secondary comparison as one computation."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.sweep_config import MultiSweepTrainConfig
from superposition.toy_sae.train import train_toy_sweep

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(MultiSweepTrainConfig, snakemake.params.train)
    train_toy_sweep(snakemake.input.ground_truth, config, snakemake.params.device, snakemake.output.sweep)
