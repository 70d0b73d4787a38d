"""Snakemake adapter: the Figure 4 appendix (the claim's cells retrained at the report's learning rate) -> CSV."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.sweep_config import SweepTrainConfig
from superposition.toy_sae.config import ToyDeadLatentsConfig
from superposition.toy_sae.dead_latents import run_dead_latents_appendix

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    table = run_dead_latents_appendix(
        snakemake.input.ground_truth, snakemake.input.sweep, parse_config(SweepTrainConfig, snakemake.params.train),
        parse_config(ToyDeadLatentsConfig, snakemake.params.appendix), snakemake.params.device,
        snakemake.output.sweep, snakemake.output.csv)
    log.info("dead latents by training recipe and window:\n%s", table.to_string(index=False))
