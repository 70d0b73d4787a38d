"""Snakemake adapter: extract and cache one model variant's activations at every requested site."""

from pathlib import Path

from superposition.lm.cache import make_activation_cache
from superposition.logs import rule_log
from superposition.workflow_config import load_workflow_config

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    make_activation_cache(
        snakemake.wildcards.model, snakemake.wildcards.variant, list(snakemake.params.sites),
        load_workflow_config(snakemake.config).lm, Path(snakemake.input.corpus).parent,
        Path(snakemake.input.model).parent, Path(snakemake.output.cache), snakemake.params.device,
    )
