"""Benchmark: activation extraction with hooks and sharded caching vs a plain forward pass; peak memory as the
corpus doubles.

Run by hand (`make benchmark`); numbers go in benchmarks/README.md. Both throughputs come from one run on the same
batches (length-bucketed, as the workflow does), alternating the two so that load drifts affect both alike:
  plain      the model's forward pass only (tokenisation included);
  extracted  `extract_activations`: hooks at the requested sites, special-token masking, storage-dtype casts,
             shards written and checksummed.
Peak memory: each corpus size is extracted in a fresh subprocess and its peak RSS (ru_maxrss) read; a streaming
extractor stays flat as the corpus doubles.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from superposition.lm.activations import ExtractionInfo, extract_activations, length_buckets
from superposition.lm.corpus import build_corpus
from superposition.lm.models import load_model
from superposition.workflow_config import load_workflow_config


def load(config_path: str):
    with open(config_path, encoding="utf-8") as handle:
        return load_workflow_config(yaml.safe_load(handle)).lm


def corpus_sentences(lm, n: int) -> list[str]:
    return build_corpus(lm.corpus).train[:n]


def plain_seconds(loaded, sentences: list[str], batch_size: int, max_length: int) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        for indices in length_buckets(sentences, batch_size):
            batch = loaded.tokenizer([sentences[i] for i in indices], padding=True, truncation=True,
                                     max_length=max_length, return_tensors="pt")
            loaded.model(**batch)
    return time.perf_counter() - start


def extracted_seconds(loaded, sentences: list[str], sites: list[str], lm) -> tuple[float, int]:
    info = ExtractionInfo(loaded.name, {}, "trained", 0, "benchmark", len(sentences))
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        manifests = extract_activations(loaded, sentences, sites, Path(folder), lm.extraction, info, progress=False)
        return time.perf_counter() - start, manifests[sites[0]]["token_count"]


def peak_rss_child(config: str, model: str, sites: list[str], n: int) -> None:
    lm = load(config)
    loaded = load_model(model, lm.models, Path("data/models") / model)
    extracted_seconds(loaded, corpus_sentences(lm, n), sites, lm)
    print(json.dumps({"sentences": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--model", default="minilm_l6")
    parser.add_argument("--sites", default="mlp.1", help="comma-separated sites")
    parser.add_argument("--sentences", type=int, default=4000, help="sentences per throughput measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss-sentences", type=int, default=10000, help="corpus size N of the memory test (N, 2N)")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--_rss_child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sites = args.sites.split(",")
    if args._rss_child:
        peak_rss_child(args.config, args.model, sites, args._rss_child)
        return

    lm = load(args.config)
    loaded = load_model(args.model, lm.models, Path("data/models") / args.model)
    sentences = corpus_sentences(lm, args.sentences)
    extracted_seconds(loaded, sentences[:256], sites, lm)  # warm-up
    plain, extracted, tokens = [], [], 0
    for _ in range(args.repeats):
        plain.append(plain_seconds(loaded, sentences, lm.extraction.batch_size, lm.extraction.max_length))
        seconds, tokens = extracted_seconds(loaded, sentences, sites, lm)
        extracted.append(seconds)
    plain_best, extracted_best = min(plain), min(extracted)
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(), "model": args.model, "sites": sites,
               "sentences": args.sentences, "kept_tokens": tokens,
               "plain_seconds": round(plain_best, 2), "extracted_seconds": round(extracted_best, 2),
               "kept_tokens_per_s_extracted": round(tokens / extracted_best),
               "overhead_fraction": round(extracted_best / plain_best - 1, 3)}
    for n in (args.rss_sentences, 2 * args.rss_sentences):
        child = subprocess.run([sys.executable, __file__, "--config", args.config, "--model", args.model,
                                "--sites", args.sites, "--_rss_child", str(n)], capture_output=True, text=True,
                               check=True)
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        results[f"peak_rss_mb_{n}_sentences"] = round(measured["peak_rss_mb"])
    for key, value in results.items():
        print(f"{key:34s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
