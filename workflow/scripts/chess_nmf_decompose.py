"""Snakemake adapter: NMF, SVD and PCA of one cached block (and the rank sweep on sweep blocks)."""

from pathlib import Path

from superposition.chess_nmf.config import ChessDecomposeConfig
from superposition.chess_nmf.decompose import decompose_block
from superposition.config import parse_config
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0], threads=snakemake.threads) as log:
    config = parse_config(ChessDecomposeConfig, snakemake.params.section)
    result = decompose_block(Path(snakemake.input.manifest).parent, config, snakemake.params.device,
                             snakemake.output.tensors, snakemake.output.metrics)
    for k in result["ks"]:
        log.info("k=%d: FVE NMF %.4f, SVD %.4f, PCA %.4f", k, result["nmf"][str(k)]["fraction_variance_explained"],
                 result["svd"][str(k)]["fraction_variance_explained"],
                 result["pca"][str(k)]["fraction_variance_explained"])
