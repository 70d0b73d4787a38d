# Sharkey, Braun & Millidge (2022), toy data: ground truth -> batched sweep -> metrics -> claims -> report.

rule toy_sae_data:
    output:
        ground_truth="data/toy_sae/ground_truth.safetensors",
    params:
        data=experiment_config("toy_sae", "data"),
        code=code_fingerprint("superposition.toy_sae.ground_truth"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/toy_sae/data.log",
    script:
        "../scripts/toy_sae_data.py"


rule toy_sae_train:
    input:
        ground_truth=rules.toy_sae_data.output.ground_truth,
    output:
        sweep="results/toy_sae/sweep.safetensors",
    params:
        train=experiment_config("toy_sae", "train"),
        device=config["device"],
        code=code_fingerprint("superposition.toy_sae.train"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/toy_sae/train.log",
    script:
        "../scripts/toy_sae_train.py"


rule toy_sae_evaluate:
    input:
        ground_truth=rules.toy_sae_data.output.ground_truth,
        sweep=rules.toy_sae_train.output.sweep,
    output:
        metrics_csv="results/toy_sae/metrics.csv",
        metrics_json="results/toy_sae/metrics.json",
        history_csv="results/toy_sae/training_history.csv",
        recovery_csv="results/toy_sae/recovery_by_frequency.csv",
    params:
        evaluate=experiment_config("toy_sae", "evaluate"),
        code=code_fingerprint("superposition.toy_sae.evaluate"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/toy_sae/evaluate.log",
    script:
        "../scripts/toy_sae_evaluate.py"


# Secondary (not in the report): the SAE architectures of Gao et al., Bussmann et al. and Rajamanoharan et al.
# beside Sharkey et al.'s on the same ground truth; a job of its own, so the report's sweep is untouched.
rule toy_sae_architectures_train:
    input:
        ground_truth=rules.toy_sae_data.output.ground_truth,
    output:
        sweep="results/toy_sae/architectures/sweep.safetensors",
    params:
        train=experiment_config("toy_sae", "architectures")["train"],
        device=config["device"],
        code=code_fingerprint("superposition.toy_sae.train"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/toy_sae/architectures_train.log",
    script:
        "../scripts/toy_sae_architectures_train.py"


rule toy_sae_architectures_evaluate:
    input:
        ground_truth=rules.toy_sae_data.output.ground_truth,
        sweep=rules.toy_sae_architectures_train.output.sweep,
    output:
        metrics_csv="results/toy_sae/architectures/metrics.csv",
        metrics_json="results/toy_sae/architectures/metrics.json",
    params:
        evaluate=experiment_config("toy_sae", "architectures")["evaluate"],
        code=code_fingerprint("superposition.toy_sae.architectures"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/toy_sae/architectures_evaluate.log",
    script:
        "../scripts/toy_sae_architectures_evaluate.py"


# Appendix to Figure 4 (issue 16): the claim's cells retrained at the report's learning rate from the same
# initialisations on the same batches, and dead latents counted over several windows in both runs.
rule toy_sae_dead_latents:
    input:
        ground_truth=rules.toy_sae_data.output.ground_truth,
        sweep=rules.toy_sae_train.output.sweep,
    output:
        sweep="results/toy_sae/dead_latents/sweep.safetensors",
        csv="results/toy_sae/dead_latents/dead_latents_by_lr.csv",
    params:
        train=experiment_config("toy_sae", "train"),
        appendix=experiment_config("toy_sae", "dead_latents"),
        device=config["device"],
        code=code_fingerprint("superposition.toy_sae.dead_latents"),
    threads: ALL_CORES
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    log:
        "logs/toy_sae/dead_latents.log",
    script:
        "../scripts/toy_sae_dead_latents.py"


rule toy_sae_claims:
    input:
        metrics_csv=rules.toy_sae_evaluate.output.metrics_csv,
        recovery_csv=rules.toy_sae_evaluate.output.recovery_csv,
        metrics_json=rules.toy_sae_evaluate.output.metrics_json,
        architectures_csv=rules.toy_sae_architectures_evaluate.output.metrics_csv,
        architectures_json=rules.toy_sae_architectures_evaluate.output.metrics_json,
        dead_latents_csv=rules.toy_sae_dead_latents.output.csv,
    output:
        claims="results/toy_sae/claims.json",
    params:
        code=code_fingerprint("superposition.toy_sae.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/toy_sae/claims.log",
    script:
        "../scripts/toy_sae_claims.py"


rule toy_sae_report:
    input:
        notebook="notebooks/toy_sae.ipynb",
        mathjax=MATHJAX,
        metrics_csv=rules.toy_sae_evaluate.output.metrics_csv,
        metrics_json=rules.toy_sae_evaluate.output.metrics_json,
        history_csv=rules.toy_sae_evaluate.output.history_csv,
        recovery_csv=rules.toy_sae_evaluate.output.recovery_csv,
        architectures_csv=rules.toy_sae_architectures_evaluate.output.metrics_csv,
        dead_latents_csv=rules.toy_sae_dead_latents.output.csv,
        claims=rules.toy_sae_claims.output.claims,
    output:
        **report_outputs("toy_sae"),
    params:
        parameters={"results_dir": "results/toy_sae"},
        code=report_code("toy_sae"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/toy_sae/report.log",
    script:
        "../scripts/render_report.py"


rule toy_sae:
    input:
        rules.toy_sae_report.output,
        rules.toy_sae_claims.output,
