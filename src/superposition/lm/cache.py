"""Workflow entry points of the language-model layer: corpus, model preparation, and activation caches."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from superposition.io import atomic_write_json, read_json
from superposition.lm.activations import ExtractionInfo, extract_activations
from superposition.lm.config import CorpusConfig, ExtractionConfig, ModelSourceConfig
from superposition.lm.corpus import build_corpus, read_split, write_corpus
from superposition.lm.models import prepare_model
from superposition.lm.variants import load_variant
from superposition.runtime import resolve_device

log = logging.getLogger(__name__)

# Inputs for the ONNX-conversion check (any text works; fixed so the check is reproducible).
VERIFY_SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "a sparse autoencoder learns an overcomplete dictionary of features",
    "superposition lets a network represent more features than it has dimensions",
    "WordNet groups English words into sets of synonyms",
]


def make_corpus(config: CorpusConfig, folder: Path) -> dict:
    """Build the configured corpus and write it to ``folder`` (train.txt, eval.txt, LICENCE.txt, corpus.json)."""
    summary = write_corpus(build_corpus(config), folder)
    log.info("corpus: %d train / %d eval sentences", summary["train_sentences"], summary["eval_sentences"])
    return summary


def make_model_record(name: str, models: dict[str, ModelSourceConfig], folder: Path) -> dict:
    """Verify (and convert, for ONNX sources) model ``name`` of the registry ``models``; write ``folder/model.json``.

    ``models`` needs only ``name`` and the model whose tokenizer it borrows, if any.
    """
    record = prepare_model(name, models, folder, VERIFY_SENTENCES)
    atomic_write_json(folder / "model.json", record)
    log.info("model %s: %s", name, record)
    return record


def make_activation_cache(model: str, variant: str, sites: list[str], models: dict[str, ModelSourceConfig],
                          extraction: ExtractionConfig, corpus_dir: Path, model_dir: Path, output: Path,
                          device: str = "cpu", progress: bool = True) -> dict:
    """Extract the ``sites`` of ``model``'s ``variant`` on the corpus's train split into ``output/<site>/``."""
    record = read_json(model_dir / "model.json")
    sentences = read_split(corpus_dir, "train")
    if extraction.max_sentences:
        sentences = sentences[:extraction.max_sentences]
    variant_model = load_variant(model, variant, models, model_dir, extraction.variant_seed,
                                 str(resolve_device(device)))
    corpus = read_json(corpus_dir / "corpus.json")
    info = ExtractionInfo(model, record, variant, extraction.variant_seed,
                          hashlib.sha256("\n".join(sentences).encode()).hexdigest(), len(sentences))
    if output.exists():
        shutil.rmtree(output)  # a rerun replaces the whole cache: no stale shards from a larger earlier run
    manifests = extract_activations(variant_model.loaded, sentences, sites, output, extraction, info, progress,
                                    before_batch=variant_model.before_batch)
    index = {"model": model, "variant": variant, "corpus_train_sha256": corpus["train_sha256"],
             "sites": {site: manifest["token_count"] for site, manifest in manifests.items()}}
    atomic_write_json(output / "index.json", index)
    return index
