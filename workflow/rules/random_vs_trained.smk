# Heap, Lawson, Farnik & Aitchison (arXiv 2501.17727): cached activations of every variant -> one TopK SAE per
# (variant, site), trained together -> metrics, interpretability proxy, token entropy -> Section 4's toy models ->
# claims -> report.

RVT = config["random_vs_trained"]
RVT_CACHES = [activation_cache(RVT["model"], variant) for variant in RVT["variants"]]
for _variant in RVT["variants"]:
    LM_EXTRA_SITES.setdefault((RVT["model"], _variant), set()).update(RVT["sites"])


rule random_vs_trained_train:
    input:
        caches=RVT_CACHES,
    output:
        saes="results/random_vs_trained/saes.safetensors",
    params:
        activations=f"data/activations/{RVT['model']}",
        section=_sorted_keys({k: RVT[k] for k in ("model", "variants", "sites", "train", "evaluate")}),
        device=config["device"],
        code=code_fingerprint("superposition.random_vs_trained.train"),
    threads: ALL_CORES
    resources:
        mem_mb=32000,
        runtime=720,
        gpu=1,
    log:
        "logs/random_vs_trained/train.log",
    script:
        "../scripts/random_vs_trained_train.py"


rule random_vs_trained_evaluate:
    input:
        caches=RVT_CACHES,
        saes=rules.random_vs_trained_train.output.saes,
        model=f"data/models/{RVT['model']}/model.json",
    output:
        metrics_csv="results/random_vs_trained/metrics.csv",
        latents_csv="results/random_vs_trained/latents.csv",
        metrics_json="results/random_vs_trained/metrics.json",
        contexts_json="results/random_vs_trained/top_contexts.json",
    params:
        activations=f"data/activations/{RVT['model']}",
        section=stage_config("random_vs_trained"),
        models=model_registry(RVT["model"]),
        code=code_fingerprint("superposition.random_vs_trained.evaluate"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=240,
    log:
        "logs/random_vs_trained/evaluate.log",
    script:
        "../scripts/random_vs_trained_evaluate.py"


rule random_vs_trained_toy:
    output:
        toy="results/random_vs_trained/toy.csv",
    params:
        toy=experiment_config("random_vs_trained", "toy"),
        code=code_fingerprint("superposition.random_vs_trained.toy"),
    threads: ALL_CORES
    resources:
        mem_mb=8000,
        runtime=120,
    log:
        "logs/random_vs_trained/toy.log",
    script:
        "../scripts/random_vs_trained_toy.py"


rule random_vs_trained_claims:
    input:
        metrics_csv=rules.random_vs_trained_evaluate.output.metrics_csv,
        metrics_json=rules.random_vs_trained_evaluate.output.metrics_json,
        toy=rules.random_vs_trained_toy.output.toy,
    output:
        claims="results/random_vs_trained/claims.json",
    params:
        code=code_fingerprint("superposition.random_vs_trained.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/random_vs_trained/claims.log",
    script:
        "../scripts/random_vs_trained_claims.py"


rule random_vs_trained_report:
    input:
        notebook="notebooks/random_vs_trained.ipynb",
        mathjax=MATHJAX,
        metrics_csv=rules.random_vs_trained_evaluate.output.metrics_csv,
        latents_csv=rules.random_vs_trained_evaluate.output.latents_csv,
        metrics_json=rules.random_vs_trained_evaluate.output.metrics_json,
        contexts_json=rules.random_vs_trained_evaluate.output.contexts_json,
        toy=rules.random_vs_trained_toy.output.toy,
        claims=rules.random_vs_trained_claims.output.claims,
    output:
        **report_outputs("random_vs_trained"),
    params:
        parameters={"results_dir": "results/random_vs_trained",
                    "entropy_min_activations": RVT["interpretability"]["entropy_min_activations"]},
        code=report_code("random_vs_trained"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/random_vs_trained/report.log",
    script:
        "../scripts/render_report.py"


rule random_vs_trained:
    input:
        rules.random_vs_trained_report.output,
        rules.random_vs_trained_claims.output,
