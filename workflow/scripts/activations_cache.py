"""Snakemake adapter: extract and cache one model variant's activations at every requested site."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm.cache import make_activation_cache
from superposition.lm.config import ExtractionConfig, parse_model_registry
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    make_activation_cache(
        snakemake.wildcards.model, snakemake.wildcards.variant, list(snakemake.params.sites),
        parse_model_registry(snakemake.params.models), parse_config(ExtractionConfig, snakemake.params.extraction),
        Path(snakemake.input.corpus).parent, Path(snakemake.input.model).parent, Path(snakemake.output.cache),
        snakemake.params.device,
    )
