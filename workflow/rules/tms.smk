# Elhage et al. (2022), Toy Models of Superposition: four experiments, each one batched training job, then
# analysis -> claims -> report.

TMS_PARTS = ["intro", "sparsity_sweep", "phase", "dimensionality"]


def tms_part_config(wildcards):
    """The shared training settings and the one experiment's section: editing another part reruns nothing here."""
    return _sorted_keys({"train": config["tms"]["train"], wildcards.part: config["tms"][wildcards.part]})


rule tms_train:
    output:
        models="results/tms/models/{part}.safetensors",
    params:
        section=tms_part_config,
        device=config["device"],
        code=code_fingerprint("superposition.tms.experiments"),
    wildcard_constraints:
        part="|".join(TMS_PARTS),
    # Small matrices: one thread per job, and the parts run side by side.
    threads: 1
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/tms/train_{part}.log",
    script:
        "../scripts/tms_train.py"


rule tms_analyze:
    input:
        models=expand("results/tms/models/{part}.safetensors", part=TMS_PARTS),
    output:
        metrics="results/tms/metrics.json",
    params:
        tms=_sorted_keys(config["tms"]),
        parts=TMS_PARTS,
        code=code_fingerprint("superposition.tms.experiments"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/tms/analyze.log",
    script:
        "../scripts/tms_analyze.py"


rule tms_claims:
    input:
        metrics=rules.tms_analyze.output.metrics,
    output:
        claims="results/tms/claims.json",
    params:
        code=code_fingerprint("superposition.tms.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/tms/claims.log",
    script:
        "../scripts/tms_claims.py"


rule tms_report:
    input:
        notebook="notebooks/tms.ipynb",
        mathjax=MATHJAX,
        metrics=rules.tms_analyze.output.metrics,
        claims=rules.tms_claims.output.claims,
        models=rules.tms_analyze.input.models,
    output:
        **report_outputs("tms"),
    params:
        parameters={"results_dir": "results/tms"},
        code=report_code("tms"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/tms/report.log",
    script:
        "../scripts/render_report.py"


rule tms:
    input:
        rules.tms_report.output,
        rules.tms_claims.output,
