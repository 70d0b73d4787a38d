# Deng, Tao & Benton (2023): synthetic metric verification (one job per setting) -> token embeddings (one job
# per model) -> every layer's residual stream (one job per model, on the lm layer's caches) -> feature tables
# -> claims -> report.

FS = config["feature_sparsity"]
FS_DIR = "results/feature_sparsity"
FS_SETTINGS = [setting["name"] for setting in FS["synthetic"]["settings"]]
FS_LAYER_MODELS = [entry["model"] for entry in FS["layers"]["models"]]
FS_LAYER_ENTRIES = {entry["model"]: entry for entry in FS["layers"]["models"]}
for _entry in FS["layers"]["models"]:
    LM_EXTRA_SITES.setdefault((_entry["model"], FS["layers"]["variant"]), set()).update(
        ["embeddings", *(f"resid.{layer}" for layer in range(_entry["layers"]))])


def fs_model_section(section, entry):
    """One model's view of an embeddings/layers section: adding a model must not rerun the others."""
    return _sorted_keys({**{k: v for k, v in FS[section].items() if k != "models"}, "models": [entry]})


rule feature_sparsity_synthetic:
    wildcard_constraints:
        setting="|".join(FS_SETTINGS),
    output:
        metrics=FS_DIR + "/synthetic/{setting}.json",
    params:
        synthetic=experiment_config("feature_sparsity", "synthetic"),
        device=config["device"],
        code=code_fingerprint("superposition.feature_sparsity.synthetic_suite"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/feature_sparsity/synthetic_{setting}.log",
    script:
        "../scripts/feature_sparsity_synthetic.py"


rule feature_sparsity_embeddings:
    wildcard_constraints:
        model="|".join(sorted(FS["embeddings"]["models"])),
    input:
        model="data/models/{model}/model.json",
    output:
        metrics=FS_DIR + "/embeddings/{model}.json",
        dictionary=FS_DIR + "/embeddings/{model}.safetensors",
    params:
        embeddings=lambda wildcards: fs_model_section("embeddings", wildcards.model),
        models=lambda wildcards: model_registry(wildcards.model),
        device=config["device"],
        code=code_fingerprint("superposition.feature_sparsity.language"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/feature_sparsity/embeddings_{model}.log",
    script:
        "../scripts/feature_sparsity_embeddings.py"


rule feature_sparsity_layers:
    wildcard_constraints:
        model="|".join(FS_LAYER_MODELS),
    input:
        cache=lambda wildcards: activation_cache(wildcards.model, FS["layers"]["variant"]),
    output:
        metrics=FS_DIR + "/layers/{model}.json",
    params:
        layers=lambda wildcards: fs_model_section("layers", FS_LAYER_ENTRIES[wildcards.model]),
        device=config["device"],
        code=code_fingerprint("superposition.feature_sparsity.language"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/feature_sparsity/layers_{model}.log",
    script:
        "../scripts/feature_sparsity_layers.py"


rule feature_sparsity_features:
    input:
        model=f"data/models/{FS['features']['model']}/model.json",
        dictionary=f"{FS_DIR}/embeddings/{FS['features']['model']}.safetensors",
    output:
        tables=FS_DIR + "/features.json",
    params:
        features=experiment_config("feature_sparsity", "features"),
        coder=_sorted_keys(FS["embeddings"]["coder"]),
        models=model_registry(FS["features"]["model"]),
        code=code_fingerprint("superposition.feature_sparsity.language"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/feature_sparsity/features.log",
    script:
        "../scripts/feature_sparsity_features.py"


rule feature_sparsity_separation_check:
    # Appendix: what decides Fig 1b's hardest pair (the initialisation of the dictionary, or the samples).
    output:
        check=FS_DIR + "/appendix/separation_check.json",
    params:
        synthetic=experiment_config("feature_sparsity", "synthetic"),
        check=experiment_config("feature_sparsity", "separation_check"),
        device=config["device"],
        code=code_fingerprint("superposition.feature_sparsity.synthetic_suite"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/feature_sparsity/separation_check.log",
    script:
        "../scripts/feature_sparsity_separation_check.py"


rule feature_sparsity_claims:
    input:
        synthetic=FS_DIR + "/synthetic/main.json",
        separation_check=rules.feature_sparsity_separation_check.output.check,
        embeddings=expand(FS_DIR + "/embeddings/{model}.json", model=FS["embeddings"]["models"]),
        layers=expand(FS_DIR + "/layers/{model}.json", model=FS_LAYER_MODELS),
    output:
        claims=FS_DIR + "/claims.json",
    params:
        code=code_fingerprint("superposition.feature_sparsity.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/feature_sparsity/claims.log",
    script:
        "../scripts/feature_sparsity_claims.py"


rule feature_sparsity_report:
    input:
        notebook="notebooks/feature_sparsity.ipynb",
        mathjax=MATHJAX,
        synthetic=expand(FS_DIR + "/synthetic/{setting}.json", setting=FS_SETTINGS),
        embeddings=rules.feature_sparsity_claims.input.embeddings,
        layers=rules.feature_sparsity_claims.input.layers,
        tables=rules.feature_sparsity_features.output.tables,
        separation_check=rules.feature_sparsity_separation_check.output.check,
        claims=rules.feature_sparsity_claims.output.claims,
    output:
        **report_outputs("feature_sparsity"),
    params:
        parameters={"results_dir": FS_DIR},
        code=report_code("feature_sparsity"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/feature_sparsity/report.log",
    script:
        "../scripts/render_report.py"


rule feature_sparsity:
    input:
        rules.feature_sparsity_report.output,
        rules.feature_sparsity_claims.output,
