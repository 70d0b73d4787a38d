"""Snakemake adapter: the meta-SAE on the largest SAE's decoder, its baselines and the decompositions."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log
from superposition.stitching.config import ContextsConfig, MetaSAEConfig
from superposition.stitching.decompose import run_meta

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    params, out = snakemake.params, snakemake.output
    run_meta(Path(snakemake.input.cache) / params.site, snakemake.input.sweep, params.model,
             parse_model_registry(params.models), Path(snakemake.input.model).parent,
             parse_config(MetaSAEConfig, params.meta), parse_config(ContextsConfig, params.contexts),
             params.eval_shards, params.device, out.meta, out.tensors)
