"""Snakemake adapter: the appendix experiment on Fig 1b's hardest pair (initialisation of Φ, samples)."""

from superposition.config import parse_config
from superposition.feature_sparsity.config import SeparationCheckConfig, SyntheticConfig
from superposition.feature_sparsity.synthetic_suite import run_separation_check
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    run_separation_check(parse_config(SyntheticConfig, snakemake.params.synthetic),
                         parse_config(SeparationCheckConfig, snakemake.params.check), snakemake.params.device,
                         snakemake.output.check)
