"""Snakemake adapter: MMCS, mean L0, FVU and dead latents of every SAE of the architecture comparison."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.toy_sae.architectures import evaluate_architecture_sweep
from superposition.toy_sae.config import ToyEvaluateConfig

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    config = parse_config(ToyEvaluateConfig, snakemake.params.evaluate)
    table = evaluate_architecture_sweep(snakemake.input.ground_truth, snakemake.input.sweep, config,
                                        snakemake.output.metrics_csv, snakemake.output.metrics_json)
    log.info("architecture comparison, %d SAEs:\n%s", len(table), table.to_string(index=False))
