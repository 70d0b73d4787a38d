"""Snakemake adapter: test the paper's claims -> claims.json."""

from superposition.claims import verdict
from superposition.logs import rule_log
from superposition.stitching.claims import write_stitching_claims

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_stitching_claims(snakemake.input.summary, snakemake.input.meta, snakemake.input.toy,
                                        snakemake.output.claims):
        log.info("%-34s %-5s %s", claim.id, verdict(claim.passed), claim.measured_summary)
