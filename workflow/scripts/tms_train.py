"""Snakemake adapter: train one experiment of Toy Models of Superposition (all its instances at once)."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.tms.config import TMSTrainConfig
from superposition.tms.experiments import PART_CONFIGS, train_part

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    part = snakemake.wildcards.part
    section = snakemake.params.section
    train_part(part, parse_config(PART_CONFIGS[part], section[part]), parse_config(TMSTrainConfig, section["train"]),
               snakemake.params.device, snakemake.output.models)
