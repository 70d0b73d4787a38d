"""Snakemake adapter: render the results site, results/index.html."""

from pathlib import Path

from superposition.logs import rule_log
from superposition.site import write_site_from_files

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    write_site_from_files(Path(snakemake.input.manifest), [Path(p) for p in snakemake.input.claims],
                          Path(snakemake.input.timings), dict(snakemake.params.config),
                          Path(snakemake.input.paper_tier), dict(snakemake.params.costs),
                          Path(snakemake.output.index))
