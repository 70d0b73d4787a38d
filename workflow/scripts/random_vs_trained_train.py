"""Snakemake adapter: train one TopK SAE per (variant, site) cell, all cells together."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.random_vs_trained.config import RVTEvaluateConfig, RVTTrainConfig
from superposition.random_vs_trained.train import train_and_save

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    section = snakemake.params.section
    train_and_save(Path(snakemake.params.activations), section["variants"], section["sites"],
                   parse_config(RVTTrainConfig, section["train"]),
                   parse_config(RVTEvaluateConfig, section["evaluate"]).eval_shards, snakemake.params.device,
                   Path(snakemake.output.saes))
