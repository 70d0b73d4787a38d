# Sharkey, Braun & Millidge (2022), language-model section: cached activations -> batched sweep -> metrics
# (beside the toy-data sweep's) -> claims -> SAELens export -> report.

LM_SAE = config["lm_sae"]
LM_SAE_CACHE = activation_cache(LM_SAE["model"], LM_SAE["variant"])
LM_EXTRA_SITES.setdefault((LM_SAE["model"], LM_SAE["variant"]), set()).add(LM_SAE["site"])


rule lm_sae_train:
    input:
        cache=LM_SAE_CACHE,
    output:
        sweep="results/lm_sae/sweep.safetensors",
    params:
        site=LM_SAE["site"],
        config=_sorted_keys({k: LM_SAE[k] for k in ("model", "variant", "site", "target_norm", "train", "evaluate")}),
        device=config["device"],
        code=code_fingerprint("superposition.lm_sae.train"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/lm_sae/train.log",
    script:
        "../scripts/lm_sae_train.py"


rule lm_sae_evaluate:
    input:
        cache=LM_SAE_CACHE,
        sweep=rules.lm_sae_train.output.sweep,
    output:
        metrics_csv="results/lm_sae/metrics.csv",
        metrics_json="results/lm_sae/metrics.json",
        history_csv="results/lm_sae/history.csv",
    params:
        site=LM_SAE["site"],
        evaluate=experiment_config("lm_sae", "evaluate"),
        code=code_fingerprint("superposition.lm_sae.evaluate"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/lm_sae/evaluate.log",
    script:
        "../scripts/lm_sae_evaluate.py"


rule lm_sae_export:
    input:
        sweep=rules.lm_sae_train.output.sweep,
    output:
        saes=directory("results/lm_sae/saes"),
    params:
        code=code_fingerprint("superposition.lm_sae.export"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/lm_sae/export.log",
    script:
        "../scripts/lm_sae_export.py"


rule lm_sae_claims:
    input:
        lm_metrics=rules.lm_sae_evaluate.output.metrics_csv,
        lm_summary=rules.lm_sae_evaluate.output.metrics_json,
        toy_metrics="results/toy_sae/metrics.csv",
    output:
        claims="results/lm_sae/claims.json",
    params:
        code=code_fingerprint("superposition.lm_sae.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/lm_sae/claims.log",
    script:
        "../scripts/lm_sae_claims.py"


rule lm_sae_report:
    input:
        notebook="notebooks/lm_sae.ipynb",
        mathjax=MATHJAX,
        metrics_csv=rules.lm_sae_evaluate.output.metrics_csv,
        metrics_json=rules.lm_sae_evaluate.output.metrics_json,
        history_csv=rules.lm_sae_evaluate.output.history_csv,
        toy_metrics="results/toy_sae/metrics.csv",
        claims=rules.lm_sae_claims.output.claims,
    output:
        **report_outputs("lm_sae"),
    params:
        parameters={"results_dir": "results/lm_sae", "toy_results_dir": "results/toy_sae"},
        code=report_code("lm_sae"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/lm_sae/report.log",
    script:
        "../scripts/render_report.py"


rule lm_sae:
    input:
        rules.lm_sae_report.output,
        rules.lm_sae_claims.output,
        rules.lm_sae_export.output,
