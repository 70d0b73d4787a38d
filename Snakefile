# Superposition Replications: one DAG for every experiment. Logic lives in src/superposition/; rules live in
# workflow/rules/, one file per experiment stage. Run `snakemake --cores all` (default tier, config.yaml) or add
# `--configfile configs/paper.yaml` for the paper-scale tier.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/toy_sae.smk"
include: "workflow/rules/tms.smk"
include: "workflow/rules/lm.smk"
include: "workflow/rules/lm_sae.smk"
include: "workflow/rules/feature_sparsity.smk"
include: "workflow/rules/scorecard.smk"
include: "workflow/rules/chess_nmf.smk"


rule all:
    default_target: True
    input:
        rules.toy_sae.input,
        rules.tms.input,
        rules.activations.input,
        rules.lm_sae.input,
        rules.feature_sparsity.input,
        rules.scorecard.input,
