"""Tiny language models and corpora that tests build locally (no hub, no real weights)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from superposition.lm.activations import ActivationReader, ShardWriter
from superposition.lm.tiny_models import WORDS, build_tiny_bert, sentences, write_corpus

__all__ = ["WORDS", "build_tiny_bert", "sentences", "write_corpus", "synthetic_cache"]


def synthetic_cache(folder, tokens: int, shard_tokens: int) -> ActivationReader:
    """A cache whose row i is (i, −i): every token is recognisable."""
    writer = ShardWriter(folder, torch.float32, shard_tokens, "synthetic")
    rows = torch.arange(tokens, dtype=torch.float32)
    writer.add(torch.stack([rows, -rows], dim=1), torch.zeros(tokens), torch.zeros(tokens))
    writer.close()
    (folder / "manifest.json").write_text(json.dumps({"d": 2, "token_count": tokens, "shards": writer.shards}))
    return ActivationReader(folder)
