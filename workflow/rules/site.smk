# The results site, the page a user opens first: results/index.html (superposition.site) links the scorecard,
# every experiment's report and figures, the timings of every job (results/timings.tsv, collected from the
# benchmark file each rule writes) beside each stage's expected cost at this tier and at the paper tier, and the
# provenance. Everything it links lies under results/; it opens offline from a file:// URL.


def _stage_targets():
    """The outputs of every stage's target rule and the scorecard: the timings are collected after all of them."""
    return [getattr(rules, stage.target_rule).input for stage in MANIFEST.stages] + [rules.scorecard.input]


rule site_timings:
    input:
        _stage_targets(),
    output:
        timings="results/timings.tsv",
    params:
        # Rule -> stage and benchmark pattern (set once every rule file is included; see the Snakefile).
        rules=lambda wildcards: {name: entry for name, entry in BENCHMARKS.items() if entry["stage"] != "site"},
        code=code_fingerprint("superposition.timings"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/site/timings.log",
    script:
        "../scripts/site_timings.py"


rule site_index:
    input:
        manifest=MANIFEST_FILE,
        paper_tier="configs/paper.yaml",
        timings=rules.site_timings.output.timings,
        claims=MANIFEST.claims_files,
        reports=[path for experiment in MANIFEST.experiments for path in experiment.report_files],
        scorecard=rules.scorecard_merge.output,
        mathjax=MATHJAX,
    output:
        index="results/index.html",
    params:
        config=_sorted_keys(config),
        costs={stage.name: stage.cost for stage in MANIFEST.stages if stage.cost},
        code=code_fingerprint("superposition.site", "superposition.cost", "superposition.provenance"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/site/index.log",
    script:
        "../scripts/site_index.py"


rule site:
    input:
        rules.site_index.output,
