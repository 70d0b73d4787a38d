"""Snakemake adapter: test the claims of the report's language-model section -> claims.json."""

from superposition.claims import verdict
from superposition.lm_sae.claims import write_lm_sae_claims
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_lm_sae_claims(snakemake.input.lm_metrics, snakemake.input.lm_summary,
                                     snakemake.input.toy_metrics, snakemake.output.claims):
        log.info("%-28s %-5s %s", claim.id, verdict(claim.passed), claim.measured_summary)
