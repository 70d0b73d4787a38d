"""Snakemake adapter: sparse-code one model's token embeddings beside a Gaussian of the same size."""

from pathlib import Path

from superposition.config import parse_config
from superposition.feature_sparsity.config import EmbeddingsConfig
from superposition.feature_sparsity.language import run_embeddings
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    run_embeddings(snakemake.wildcards.model, parse_model_registry(snakemake.params.models),
                   Path(snakemake.input.model).parent, parse_config(EmbeddingsConfig, snakemake.params.embeddings),
                   snakemake.params.device, Path(snakemake.output.metrics), Path(snakemake.output.dictionary))
