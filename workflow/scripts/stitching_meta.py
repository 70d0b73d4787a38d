"""Snakemake adapter: the meta-SAE on the largest SAE's decoder, its baselines and the decompositions."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log
from superposition.stitching.config import StitchingConfig
from superposition.stitching.decompose import run_meta

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(StitchingConfig, snakemake.params.config)
    run_meta(Path(snakemake.input.cache) / snakemake.params.site, snakemake.input.sweep, config.model,
             parse_model_registry(snakemake.params.models), Path(snakemake.input.model).parent, config,
             snakemake.params.device, snakemake.output.meta, snakemake.output.tensors)
