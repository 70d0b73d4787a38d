# Superposition Replications: one DAG for every experiment. Logic lives in src/superposition/; rules live in
# workflow/rules/, one file per stage of the experiment manifest (workflow/experiments.yaml). Run
# `snakemake --cores all` (default tier, config.yaml) or add `--configfile configs/paper.yaml` for the
# paper-scale tier. The workflow profile (profiles/default -> workflow/profiles/default) is loaded automatically.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


configfile: "config.yaml"


include: "workflow/rules/common.smk"


# Shared layers first (experiments add their activation sites to them), then experiments, in manifest order.
for _stage in MANIFEST.stages:

    include: _stage.rule_file


include: "workflow/rules/scorecard.smk"
include: "workflow/rules/site.smk"


# Every rule that runs a job writes a benchmark file: logs/<stage>/benchmarks/<rule>[.<wildcards>].tsv.
BENCHMARKS = benchmark_every_rule()


rule all:
    default_target: True
    input:
        [getattr(rules, stage.target_rule).input for stage in MANIFEST.stages],
        rules.scorecard.input,
        rules.site.input,
