"""Snakemake adapter: train the BatchTopK family of doubling widths on cached activations."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.stitching.config import StitchingConfig
from superposition.stitching.train import train_family

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(StitchingConfig, snakemake.params.config)
    train_family(Path(snakemake.input.cache) / snakemake.params.site, config, snakemake.params.device,
                 snakemake.output.sweep)
