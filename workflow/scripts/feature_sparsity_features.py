"""Snakemake adapter: the interpretable-feature tables of Appendix G (Tables 1-3)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.feature_sparsity.config import CoderConfig, FeaturesConfig
from superposition.feature_sparsity.language import feature_tables
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(FeaturesConfig, snakemake.params.features)
    coder = parse_config(CoderConfig, snakemake.params.coder)
    feature_tables(config.model, parse_model_registry(snakemake.params.models), Path(snakemake.input.model).parent,
                   Path(snakemake.input.dictionary), config, coder.max_active, Path(snakemake.output.tables))
