"""Snakemake adapter: write every trained SAE in SAELens's on-disk layout (sae_weights.safetensors + cfg.json)."""

from pathlib import Path

from superposition.lm_sae.export import export_sweep
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    folders = export_sweep(Path(snakemake.input.sweep), Path(snakemake.output.saes))
    log.info("wrote %d SAEs under %s", len(folders), snakemake.output.saes)
