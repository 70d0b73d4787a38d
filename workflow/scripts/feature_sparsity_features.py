"""Snakemake adapter: the interpretable-feature tables of Appendix G (Tables 1-3)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.feature_sparsity.config import CoderConfig, FeaturesConfig
from superposition.feature_sparsity.language import feature_tables
from superposition.logs import rule_log
from superposition.workflow_config import load_workflow_config

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(FeaturesConfig, snakemake.params.features)
    coder = parse_config(CoderConfig, snakemake.params.coder)
    lm = load_workflow_config(snakemake.config).lm
    feature_tables(config.model, lm, Path(snakemake.input.model).parent, Path(snakemake.input.dictionary),
                   config, coder.max_active, Path(snakemake.output.tables))
