# The scorecard: every experiment's claims.json (from the manifest) merged into one table.


rule scorecard_merge:
    input:
        claims=MANIFEST.claims_files,
    output:
        markdown="results/scorecard.md",
        html=report("results/scorecard.html", caption="../report/scorecard.rst", category="scorecard"),
    params:
        code=code_fingerprint("superposition.scorecard"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/scorecard.log",
    script:
        "../scripts/scorecard_merge.py"


rule scorecard:
    input:
        rules.scorecard_merge.output,
