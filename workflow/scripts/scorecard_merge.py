"""Snakemake adapter: merge every experiment's claims.json into the scorecard."""

from pathlib import Path

from superposition.logs import rule_log
from superposition.scorecard import write_scorecard

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    write_scorecard([Path(p) for p in snakemake.input.claims], Path(snakemake.output.markdown),
                    Path(snakemake.output.html))
