"""Snakemake adapter: test the report's toy-data claims (and the secondary architecture claims) -> claims.json."""

from superposition.claims import verdict
from superposition.logs import rule_log
from superposition.toy_sae.claims import write_toy_sae_claims

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_toy_sae_claims(snakemake.input.metrics_csv, snakemake.input.recovery_csv,
                                      snakemake.input.metrics_json, snakemake.output.claims,
                                      snakemake.input.architectures_csv, snakemake.input.dead_latents_csv,
                                      snakemake.input.architectures_json):
        log.info("%-34s %-5s %s%s", claim.id, verdict(claim.passed), "(secondary) " * claim.secondary,
                 claim.measured_summary)
