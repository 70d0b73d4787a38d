"""Snakemake adapter: MMCS, dead latents, losses and SSLL for every grid point."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.toy_sae.config import ToyEvaluateConfig
from superposition.toy_sae.evaluate import evaluate_toy_sweep

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    config = parse_config(ToyEvaluateConfig, snakemake.params.evaluate)
    table = evaluate_toy_sweep(snakemake.input.ground_truth, snakemake.input.sweep, config,
                               snakemake.output.metrics_csv, snakemake.output.metrics_json,
                               snakemake.output.history_csv, snakemake.output.recovery_csv)
    log.info("metrics of %d grid points:\n%s", len(table), table.to_string(index=False))
