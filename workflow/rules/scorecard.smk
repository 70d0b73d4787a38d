# The scorecard: every experiment's claims.json merged into one table.

CLAIMS_FILES = ["results/toy_sae/claims.json", "results/tms/claims.json", "results/lm_sae/claims.json",
                "results/feature_sparsity/claims.json"]


rule scorecard_merge:
    input:
        claims=CLAIMS_FILES,
    output:
        markdown="results/scorecard.md",
        html=report("results/scorecard.html", caption="../report/scorecard.rst", category="scorecard"),
    params:
        code=code_fingerprint("superposition.scorecard"),
    log:
        "logs/scorecard.log",
    script:
        "../scripts/scorecard_merge.py"


rule scorecard:
    input:
        rules.scorecard_merge.output,
