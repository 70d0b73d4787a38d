"""Snakemake adapter: execute an experiment's notebook with papermill and export it as HTML."""

from pathlib import Path

from superposition.logs import rule_log
from superposition.reporting import render_report

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    render_report(Path(snakemake.input.notebook), Path(snakemake.output.notebook), Path(snakemake.output.html),
                  dict(snakemake.params.parameters), cwd=Path.cwd(), mathjax=Path(snakemake.input.mathjax))
    missing = [f for f in snakemake.output.figures if not Path(f).is_file()]
    if missing:
        raise FileNotFoundError(f"the notebook did not write these declared figures: {missing}")
