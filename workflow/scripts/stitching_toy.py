"""Snakemake adapter: the colour x shape toy (paper Figure 2) and its meta-SAEs."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.stitching.config import ToyConfig
from superposition.stitching.toy import run_toy

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    run_toy(parse_config(ToyConfig, snakemake.params.toy), snakemake.output.toy)
