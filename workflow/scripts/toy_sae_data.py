"""Snakemake adapter: draw the toy data's ground truth (features, covariance) -> data/toy_sae/."""

from superposition.config import parse_config
from superposition.logs import rule_log
from superposition.toy_sae.config import ToyDataConfig
from superposition.toy_sae.ground_truth import make_ground_truth

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]) as log:
    config = parse_config(ToyDataConfig, snakemake.params.data)
    generator = make_ground_truth(config, snakemake.output.ground_truth)
    log.info("ground truth: %d features in %d dimensions", generator.n_features, generator.dim)
