"""Snakemake adapter: test the claims of McGrath et al. / the survey on our chess_nmf outputs -> claims.json."""

from superposition.chess_nmf.claims import write_chess_claims
from superposition.claims import verdict
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    for claim in write_chess_claims(snakemake.input.network_metrics, snakemake.input.decompositions,
                                    snakemake.input.scores, snakemake.output.claims):
        log.info("%-50s %-5s %s", claim.id, verdict(claim.passed), claim.measured_summary)
