"""Snakemake adapter: test the claims of Toy Models of Superposition on our metrics -> claims.json."""

from superposition.claims import verdict
from superposition.logs import rule_log
from superposition.tms.claims import write_tms_claims

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_tms_claims(snakemake.input.metrics, snakemake.output.claims):
        log.info("%-30s %-5s %s", claim.id, verdict(claim.passed),
                 claim.measured_summary)
