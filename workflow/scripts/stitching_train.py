"""Snakemake adapter: train the BatchTopK family of doubling widths on cached activations."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.stitching.train import train_family
from superposition.sweep_config import SweepTrainConfig

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    params = snakemake.params
    train_family(Path(snakemake.input.cache) / params.site, parse_config(SweepTrainConfig, params.train),
                 params.target_norm, params.eval_shards, params.device, snakemake.output.sweep)
