"""Snakemake adapter: collect every job's benchmark file into results/timings.tsv."""

from superposition.logs import rule_log
from superposition.timings import write_timings

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    jobs = write_timings(dict(snakemake.params.rules), snakemake.output.timings)
    log.info("%d jobs measured", len(jobs))
