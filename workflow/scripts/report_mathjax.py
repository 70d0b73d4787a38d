"""Snakemake adapter: copy the parts of MathJax that the reports load into results/."""

from pathlib import Path

from superposition.logs import rule_log
from superposition.reporting import copy_mathjax

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    copy_mathjax(Path(snakemake.input.source), Path(snakemake.output.mathjax))
