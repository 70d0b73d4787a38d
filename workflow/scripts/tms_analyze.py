"""Snakemake adapter: measure every trained toy model (norms, superposition, phases, dimensionality)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.tms.config import TMSConfig
from superposition.tms.experiments import analyze_parts

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    models = dict(zip(snakemake.params.parts, map(Path, snakemake.input.models)))
    metrics = analyze_parts(models, parse_config(TMSConfig, snakemake.params.tms), Path(snakemake.output.metrics))
    log.info("phase agreement %.3f; D* %s", metrics["phase"]["agreement"],
             ", ".join(f"{v:.3f}" for v in metrics["dimensionality"]["d_star"]))
