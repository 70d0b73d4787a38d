"""Snakemake adapter: train the L1 × dictionary-size grid on cached language-model activations."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm_sae.config import LMSAEConfig
from superposition.lm_sae.train import train_lm_sweep
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(LMSAEConfig, snakemake.params.config)
    train_lm_sweep(Path(snakemake.input.cache) / snakemake.params.site, config, snakemake.params.device,
                   snakemake.output.sweep)
