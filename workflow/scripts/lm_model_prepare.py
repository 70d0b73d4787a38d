"""Snakemake adapter: verify one model's weights (and convert an ONNX source) -> data/models/<name>/model.json."""

from pathlib import Path

from superposition.lm.cache import make_model_record
from superposition.lm.config import parse_model_registry
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    make_model_record(snakemake.wildcards.model, parse_model_registry(snakemake.params.models),
                      Path(snakemake.output.record).parent)
