# Leask, Bussmann et al. (2025), SAE stitching and meta-SAEs: cached activations (shared LM layer) -> a BatchTopK
# family of doubling widths -> stitching of every adjacent pair; meta-SAE on the largest SAE with its baselines and
# decompositions; the colour x shape toy -> claims -> report.

STITCH = config["stitching"]
STITCH_CACHE = activation_cache(STITCH["model"], STITCH["variant"])
LM_EXTRA_SITES.setdefault((STITCH["model"], STITCH["variant"]), set()).add(STITCH["site"])


rule stitching_train:
    input:
        cache=STITCH_CACHE,
    output:
        sweep="results/stitching/family.safetensors",
    params:
        site=STITCH["site"],
        # only what training reads: a change of the meta-SAE, the toy or the held-out sample does not retrain
        train=experiment_config("stitching", "train"),
        target_norm=STITCH["target_norm"],
        eval_shards=STITCH["evaluate"]["eval_shards"],
        device=config["device"],
        code=code_fingerprint("superposition.stitching.train"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/stitching/train.log",
    script:
        "../scripts/stitching_train.py"


rule stitching_stitch:
    input:
        cache=STITCH_CACHE,
        sweep=rules.stitching_train.output.sweep,
    output:
        latents="results/stitching/latents.csv",
        groups="results/stitching/groups.csv",
        path="results/stitching/path.csv",
        family="results/stitching/family.csv",
        summary="results/stitching/stitching.json",
    params:
        site=STITCH["site"],
        evaluate=experiment_config("stitching", "evaluate"),
        code=code_fingerprint("superposition.stitching.analyse"),
    # one thread: the path is thousands of small steps, which a second (contended) thread only slows down
    threads: 1
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/stitching/stitch.log",
    script:
        "../scripts/stitching_stitch.py"


rule stitching_meta:
    input:
        cache=STITCH_CACHE,
        sweep=rules.stitching_train.output.sweep,
        model=f"data/models/{STITCH['model']}/model.json",
    output:
        meta="results/stitching/meta.json",
        tensors="results/stitching/meta.safetensors",
    params:
        site=STITCH["site"],
        model=STITCH["model"],
        meta=experiment_config("stitching", "meta"),
        contexts=experiment_config("stitching", "contexts"),
        eval_shards=STITCH["evaluate"]["eval_shards"],
        models=model_registry(STITCH["model"]),
        device=config["device"],
        code=code_fingerprint("superposition.stitching.decompose"),
    # one thread: thousands of small meta-SAE steps, which a second (contended) thread only slows down
    threads: 1
    resources:
        mem_mb=16000,
        runtime=240,
        gpu=1,
    log:
        "logs/stitching/meta.log",
    script:
        "../scripts/stitching_meta.py"


rule stitching_toy:
    output:
        toy="results/stitching/toy.json",
    params:
        toy=experiment_config("stitching", "toy"),
        code=code_fingerprint("superposition.stitching.toy"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/stitching/toy.log",
    script:
        "../scripts/stitching_toy.py"


rule stitching_claims:
    input:
        summary=rules.stitching_stitch.output.summary,
        meta=rules.stitching_meta.output.meta,
        toy=rules.stitching_toy.output.toy,
    output:
        claims="results/stitching/claims.json",
    params:
        code=code_fingerprint("superposition.stitching.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/stitching/claims.log",
    script:
        "../scripts/stitching_claims.py"


rule stitching_report:
    input:
        notebook="notebooks/stitching.ipynb",
        mathjax=MATHJAX,
        latents=rules.stitching_stitch.output.latents,
        groups=rules.stitching_stitch.output.groups,
        path=rules.stitching_stitch.output.path,
        family=rules.stitching_stitch.output.family,
        summary=rules.stitching_stitch.output.summary,
        meta=rules.stitching_meta.output.meta,
        toy=rules.stitching_toy.output.toy,
        claims=rules.stitching_claims.output.claims,
    output:
        **report_outputs("stitching"),
    params:
        parameters={"results_dir": "results/stitching"},
        code=report_code("stitching"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/stitching/report.log",
    script:
        "../scripts/render_report.py"


rule stitching:
    input:
        rules.stitching_report.output,
        rules.stitching_claims.output,
