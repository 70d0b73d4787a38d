"""Snakemake adapter: metrics, interpretability proxy, token entropy and top contexts of every cell."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log
from superposition.random_vs_trained.config import RandomVsTrainedConfig
from superposition.random_vs_trained.evaluate import evaluate_cells, token_decoder

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(RandomVsTrainedConfig, snakemake.params.section)
    decode = token_decoder(config.model, parse_model_registry(snakemake.params.models),
                           Path(snakemake.input.model).parent)
    out = snakemake.output
    evaluate_cells(Path(snakemake.params.activations), Path(snakemake.input.saes), config.evaluate,
                   config.interpretability, decode, out.metrics_csv, out.latents_csv, out.metrics_json,
                   out.contexts_json)
