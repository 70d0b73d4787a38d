"""Snakemake adapter: code every dataset of one synthetic setting and measure the four metrics."""

from superposition.config import parse_config
from superposition.feature_sparsity.config import SyntheticConfig
from superposition.feature_sparsity.synthetic_suite import run_synthetic_setting
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    run_synthetic_setting(snakemake.wildcards.setting, parse_config(SyntheticConfig, snakemake.params.synthetic),
                          snakemake.params.device, snakemake.output.metrics)
