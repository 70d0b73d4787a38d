"""Snakemake adapter: Section 4's toy models (TopK k sweeps on sparse and Gaussian data, before and after a random
MLP)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.random_vs_trained.config import ToyConfig
from superposition.random_vs_trained.toy import toy_pareto

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    toy_pareto(parse_config(ToyConfig, snakemake.params.toy), Path(snakemake.output.toy))
