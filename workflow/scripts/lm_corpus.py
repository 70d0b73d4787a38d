"""Snakemake adapter: build the text corpus (train/eval split, licence note) under data/corpus/."""

from pathlib import Path

from superposition.config import parse_config
from superposition.lm.cache import make_corpus
from superposition.lm.config import CorpusConfig
from superposition.logs import rule_log

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

with rule_log(snakemake.log[0]):
    make_corpus(parse_config(CorpusConfig, snakemake.params.corpus), Path(snakemake.output.summary).parent)
