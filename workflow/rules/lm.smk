# The language-model layer shared by every LM experiment: corpus -> verified (or converted) models ->
# activation caches under data/activations/<model>/<variant>/<site>/. Any experiment asks for a cache with
# activation_cache(model, variant) and adds its site through LM_EXTRA_SITES.

import typing

from superposition.lm.config import Variant

# Sites each experiment needs beyond lm.activations, by (model, variant); experiments' .smk files add to it.
LM_EXTRA_SITES = {}


def lm_sites(model, variant):
    """Every site requested for one model and variant (lm.activations plus the experiments' own), sorted."""
    sites = set(LM_EXTRA_SITES.get((model, variant), ()))
    for request in config["lm"]["activations"]:
        if request["model"] == model and request["variant"] == variant:
            sites.update(request["sites"])
    return sorted(sites)


def activation_cache(model, variant):
    """The cache folder of one model and variant (an output of activations_cache)."""
    return f"data/activations/{model}/{variant}"


rule lm_corpus:
    input:
        deb=config["lm"]["corpus"]["wordnet_deb"] if config["lm"]["corpus"]["source"] == "wordnet" else [],
        files=list(config["lm"]["corpus"]["files"]) if config["lm"]["corpus"]["source"] == "files" else [],
    output:
        summary="data/corpus/corpus.json",
        train="data/corpus/train.txt",
        eval="data/corpus/eval.txt",
        licence="data/corpus/LICENCE.txt",
    params:
        corpus=experiment_config("lm", "corpus"),
        code=code_fingerprint("superposition.lm.cache"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/lm/corpus.log",
    script:
        "../scripts/lm_corpus.py"


rule lm_model_prepare:
    output:
        record="data/models/{model}/model.json",
    params:
        models=lambda wildcards: model_registry(wildcards.model),
        code=code_fingerprint("superposition.lm.cache"),
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/lm/model_{model}.log",
    script:
        "../scripts/lm_model_prepare.py"


rule activations_cache:
    wildcard_constraints:
        model="|".join(sorted(config["lm"]["models"])),
        variant="|".join(typing.get_args(Variant)),
    input:
        corpus=rules.lm_corpus.output.summary,
        model="data/models/{model}/model.json",
    output:
        cache=directory("data/activations/{model}/{variant}"),
    params:
        sites=lambda wildcards: lm_sites(wildcards.model, wildcards.variant),
        models=lambda wildcards: model_registry(wildcards.model),
        extraction=experiment_config("lm", "extraction"),
        device=config["device"],
        code=code_fingerprint("superposition.lm.cache"),
    threads: ALL_CORES
    resources:
        mem_mb=16000,
        runtime=480,
        gpu=1,
    log:
        "logs/lm/activations_{model}_{variant}.log",
    script:
        "../scripts/activations_cache.py"


def all_activation_caches(wildcards=None):
    """Every cache the config asks for: lm.activations and the experiments' own (an input function, so it sees
    what .smk files included after this one add)."""
    pairs = {(r["model"], r["variant"]) for r in config["lm"]["activations"]} | set(LM_EXTRA_SITES)
    return [activation_cache(model, variant) for model, variant in sorted(pairs)]


rule activations:
    input:
        all_activation_caches,
        expand("data/models/{model}/model.json", model=sorted(config["lm"]["prepare_models"])),
