"""Snakemake adapter: stitch every adjacent pair of the family (matching, ΔMSE, stitching paths)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.stitching.analyse import analyse_family
from superposition.stitching.config import StitchEvaluateConfig

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    out = snakemake.output
    analyse_family(Path(snakemake.input.cache) / snakemake.params.site, snakemake.input.sweep,
                   parse_config(StitchEvaluateConfig, snakemake.params.evaluate), out.latents, out.groups, out.path,
                   out.family, out.summary)
