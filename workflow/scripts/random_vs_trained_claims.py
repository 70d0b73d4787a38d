"""Snakemake adapter: test the claims of Heap et al. -> claims.json."""

from superposition.claims import verdict
from superposition.logs import rule_log
from superposition.random_vs_trained.claims import write_random_vs_trained_claims

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_random_vs_trained_claims(snakemake.input.metrics_csv, snakemake.input.metrics_json,
                                                snakemake.input.toy, snakemake.output.claims):
        log.info("%-34s %-5s %s", claim.id, verdict(claim.passed), claim.measured_summary)
