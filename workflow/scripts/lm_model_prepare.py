"""Snakemake adapter: verify one model's weights (and convert an ONNX source) -> data/models/<name>/model.json."""

from pathlib import Path

from superposition.lm.cache import make_model_record
from superposition.logs import rule_log
from superposition.workflow_config import load_workflow_config

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    lm = load_workflow_config(snakemake.config).lm
    make_model_record(snakemake.wildcards.model, lm, Path(snakemake.output.record).parent)
