# McGrath et al. (2021) via the survey's §3.2: positions -> Stockfish labels -> an AlphaZero-style network ->
# block activations -> NMF/SVD/PCA -> concept scores -> claims -> report (figures).

CHESS = "data/chess_nmf"
CHESS_RESULTS = "results/chess_nmf"
CHESS_NETWORKS = ["trained", "random"] + (["leela"] if config["chess_nmf"]["activations"]["leela_onnx"] else [])
CHESS_BLOCKS = config["chess_nmf"]["decompose"]["blocks"]
CHESS_SWEEP_BLOCKS = config["chess_nmf"]["decompose"]["sweep_blocks"]
CHESS_FIGURE_BLOCK = config["chess_nmf"]["concepts"]["figure_block"]


def chess_network_file(wildcards):
    """The weights behind a network's activations: our trained/random networks, or the user's Leela ONNX file."""
    if wildcards.network == "leela":
        return config["chess_nmf"]["activations"]["leela_onnx"]
    return f"{CHESS}/networks/{wildcards.network}.safetensors"


rule chess_nmf_positions:
    input:
        books=config["chess_nmf"]["positions"]["books"],
        engine=config["chess_nmf"]["positions"]["engine"],
    output:
        positions=f"{CHESS}/positions/positions.csv",
        manifest=f"{CHESS}/positions/manifest.json",
    params:
        section=experiment_config("chess_nmf", "positions"),
        code=code_fingerprint("superposition.chess_nmf.positions"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/chess_nmf/positions.log",
    script:
        "../scripts/chess_nmf_positions.py"


rule chess_nmf_labels:
    input:
        manifest=rules.chess_nmf_positions.output.manifest,
        engine=config["chess_nmf"]["positions"]["engine"],
    output:
        labels=f"{CHESS}/labels/labels.safetensors",
        manifest=f"{CHESS}/labels/manifest.json",
    params:
        section=experiment_config("chess_nmf", "labels"),
        code=code_fingerprint("superposition.chess_nmf.labels"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=120,
    log:
        "logs/chess_nmf/labels.log",
    script:
        "../scripts/chess_nmf_labels.py"


rule chess_nmf_train:
    input:
        positions=rules.chess_nmf_positions.output.manifest,
        labels=rules.chess_nmf_labels.output.manifest,
    output:
        trained=f"{CHESS}/networks/trained.safetensors",
        random=f"{CHESS}/networks/random.safetensors",
        metrics=f"{CHESS_RESULTS}/network_metrics.json",
    params:
        network=experiment_config("chess_nmf", "network"),
        train=experiment_config("chess_nmf", "train"),
        device=config["device"],
        code=code_fingerprint("superposition.chess_nmf.train"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/chess_nmf/train.log",
    script:
        "../scripts/chess_nmf_train.py"


rule chess_nmf_activations:
    input:
        positions=rules.chess_nmf_positions.output.manifest,
        network=chess_network_file,
    output:
        manifests=[f"{CHESS}/activations/{{network}}/block{b}/manifest.json" for b in CHESS_BLOCKS],
    params:
        section=experiment_config("chess_nmf", "activations"),
        folder=lambda wildcards: f"{CHESS}/activations/{wildcards.network}",
        device=config["device"],
        code=code_fingerprint("superposition.chess_nmf.activations", "superposition.chess_nmf.leela"),
    wildcard_constraints:
        network="trained|random|leela",
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/chess_nmf/activations_{network}.log",
    script:
        "../scripts/chess_nmf_activations.py"


rule chess_nmf_decompose:
    input:
        manifest=f"{CHESS}/activations/{{network}}/block{{block}}/manifest.json",
    output:
        tensors=f"{CHESS}/decompositions/{{network}}/block{{block}}.safetensors",
        metrics=f"{CHESS_RESULTS}/decompositions/{{network}}/block{{block}}.json",
    params:
        section=experiment_config("chess_nmf", "decompose"),
        device=config["device"],
        code=code_fingerprint("superposition.chess_nmf.decompose"),
    wildcard_constraints:
        network="trained|random|leela",
        block=r"\d+",
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/chess_nmf/decompose_{network}_block{block}.log",
    script:
        "../scripts/chess_nmf_decompose.py"


rule chess_nmf_concepts:
    input:
        positions=rules.chess_nmf_positions.output.manifest,
        tensors=expand(f"{CHESS}/decompositions/{{network}}/block{{block}}.safetensors", network=CHESS_NETWORKS,
                       block=CHESS_BLOCKS),
    output:
        maps=f"{CHESS}/concepts/maps.safetensors",
        scores=f"{CHESS_RESULTS}/concept_scores.json",
    params:
        activations=experiment_config("chess_nmf", "activations"),
        networks=CHESS_NETWORKS,
        blocks=CHESS_BLOCKS,
        code=code_fingerprint("superposition.chess_nmf.concepts"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/chess_nmf/concepts.log",
    script:
        "../scripts/chess_nmf_concepts.py"


rule chess_nmf_claims:
    input:
        network_metrics=rules.chess_nmf_train.output.metrics,
        decompositions=expand(f"{CHESS_RESULTS}/decompositions/{{network}}/block{{block}}.json",
                              network=CHESS_NETWORKS, block=CHESS_BLOCKS),
        scores=rules.chess_nmf_concepts.output.scores,
    output:
        claims=f"{CHESS_RESULTS}/claims.json",
    params:
        code=code_fingerprint("superposition.chess_nmf.claims"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/chess_nmf/claims.log",
    script:
        "../scripts/chess_nmf_claims.py"


rule chess_nmf_report:
    input:
        notebook="notebooks/chess_nmf.ipynb",
        mathjax=MATHJAX,
        positions=rules.chess_nmf_positions.output.manifest,
        network_metrics=rules.chess_nmf_train.output.metrics,
        sweeps=expand(f"{CHESS_RESULTS}/decompositions/{{network}}/block{{block}}.json", network=CHESS_NETWORKS,
                      block=CHESS_SWEEP_BLOCKS),
        scores=rules.chess_nmf_concepts.output.scores,
        figure_tensors=f"{CHESS}/decompositions/trained/block{CHESS_FIGURE_BLOCK}.safetensors",
        claims=rules.chess_nmf_claims.output.claims,
    output:
        **report_outputs("chess_nmf"),
    params:
        parameters={"results_dir": CHESS_RESULTS, "data_dir": CHESS,
                    "concepts": experiment_config("chess_nmf", "concepts"),
                    "activations": experiment_config("chess_nmf", "activations"), "sweep_blocks": CHESS_SWEEP_BLOCKS},
        code=report_code("chess_nmf"),
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/chess_nmf/report.log",
    script:
        "../scripts/render_report.py"


rule chess_nmf:
    input:
        rules.chess_nmf_report.output,
        rules.chess_nmf_claims.output,
