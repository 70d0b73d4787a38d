"""Snakemake adapter: dead latents, SSLL, MMCS with larger dictionaries and held-out losses per grid point."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm_sae.config import LMSAEEvaluateConfig
from superposition.lm_sae.evaluate import evaluate_lm_sweep
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    out = snakemake.output
    evaluate_lm_sweep(Path(snakemake.input.cache) / snakemake.params.site, snakemake.input.sweep,
                      parse_config(LMSAEEvaluateConfig, snakemake.params.evaluate), out.metrics_csv,
                      out.metrics_json, out.history_csv)
