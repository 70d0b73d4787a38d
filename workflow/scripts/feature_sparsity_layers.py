"""Snakemake adapter: measure the sparsity of every layer's residual stream of one model (Appendix H)."""

from pathlib import Path

from superposition.config import parse_config
from superposition.feature_sparsity.config import LayersConfig
from superposition.feature_sparsity.language import layer_sites, run_layers
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads):
    config = parse_config(LayersConfig, snakemake.params.layers)
    model = snakemake.wildcards.model
    layers = next(entry.layers for entry in config.models if entry.model == model)
    run_layers(model, Path(snakemake.input.cache), layer_sites(layers), config,
               snakemake.params.device, Path(snakemake.output.metrics))
