"""Snakemake adapter: test the claims of Deng, Tao & Benton (2023) -> claims.json."""

from superposition.claims import verdict
from superposition.feature_sparsity.claims import write_feature_sparsity_claims
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_feature_sparsity_claims(snakemake.input.synthetic, list(snakemake.input.embeddings),
                                               list(snakemake.input.layers), snakemake.input.separation_check,
                                               snakemake.output.claims):
        log.info("%-32s %-5s %s", claim.id, verdict(claim.passed), claim.measured_summary)
