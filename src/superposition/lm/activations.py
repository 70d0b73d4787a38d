"""Extracting activations into sharded safetensors caches, and streaming them back.

Layout: ``<root>/<site>/shard-00000.safetensors`` … plus ``<root>/<site>/manifest.json``, where ``<root>`` is
``data/activations/<model>/<variant>``. Each shard holds ``activations`` (tokens, d) in the storage dtype,
``token_ids`` (tokens,) and ``sequence_index`` (tokens,) (the sentence each token came from). The manifest
records what produced the cache (model source and weights hash, variant and seed, site, dtype, token count,
corpus slice hash, tokenizer, special-token policy) and every shard's SHA-256, which the reader verifies.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from tqdm import tqdm

from superposition.io import atomic_save_safetensors, atomic_write_json, sha256_file
from superposition.lm.config import ExtractionConfig
from superposition.lm.models import LoadedModel
from superposition.lm.sites import record_sites, site_dim

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MANIFEST_VERSION = 1


class ActivationError(RuntimeError):
    """A cache is missing, corrupt, or holds non-finite values; the message names which."""


def token_mask(batch: dict[str, torch.Tensor], exclude_special_tokens: bool) -> torch.Tensor:
    """(batch, seq) bool: the positions whose activations are kept (never padding)."""
    keep = batch["attention_mask"].bool()
    if exclude_special_tokens:
        keep &= ~batch["special_tokens_mask"].bool()
    return keep


class ShardWriter:
    """Collects one site's kept activations and writes a shard each ``shard_tokens`` tokens."""

    def __init__(self, folder: Path, dtype: torch.dtype, shard_tokens: int, context: str) -> None:
        self.folder, self.dtype, self.shard_tokens, self.context = folder, dtype, shard_tokens, context
        self.parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.pending = 0
        self.shards: list[dict] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, activations: torch.Tensor, token_ids: torch.Tensor, sequence_index: torch.Tensor) -> None:
        self.parts.append((activations.to(self.dtype), token_ids.to(torch.int32), sequence_index.to(torch.int64)))
        self.pending += activations.shape[0]
        while self.pending >= self.shard_tokens:
            self._write(self.shard_tokens)

    def close(self) -> None:
        if self.pending:
            self._write(self.pending)

    def _write(self, n: int) -> None:
        activations, token_ids, sequence = (torch.cat(column) for column in zip(*self.parts))
        if not torch.isfinite(activations).all():
            bad = (~torch.isfinite(activations)).sum().item()
            raise ActivationError(f"{self.context}, shard {len(self.shards)}: {bad} NaN/inf values in the "
                                  f"activations (storage dtype {self.dtype}); the model or variant is unstable, "
                                  "or the values overflow the storage dtype")
        name = f"shard-{len(self.shards):05d}.safetensors"
        atomic_save_safetensors({"activations": activations[:n].contiguous(), "token_ids": token_ids[:n].contiguous(),
                                 "sequence_index": sequence[:n].contiguous()}, self.folder / name, {})
        self.shards.append({"file": name, "tokens": n, "sha256": sha256_file(self.folder / name)})
        self.parts = [(activations[n:], token_ids[n:], sequence[n:])] if activations.shape[0] > n else []
        self.pending -= n


def length_buckets(sentences: list[str], batch_size: int, window_batches: int = 32) -> list[list[int]]:
    """Sentence indices in batches of similar length, to waste little compute on padding.

    Sentences are sorted by length only within windows of ``window_batches`` batches, so every shard still
    mixes the whole corpus's order; ``sequence_index`` records each token's sentence.
    """
    window = batch_size * window_batches
    batches = []
    for first in range(0, len(sentences), window):
        order = sorted(range(first, min(first + window, len(sentences))), key=lambda i: len(sentences[i]))
        batches += [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return batches


@dataclass
class ExtractionInfo:
    """What produced a cache (goes into every manifest of the run)."""

    model: str
    model_record: dict
    variant: str
    variant_seed: int
    corpus_sha256: str
    corpus_sentences: int


def extract_activations(loaded: LoadedModel, sentences: list[str], sites: list[str], output: Path,
                        config: ExtractionConfig, info: ExtractionInfo, progress: bool = True,
                        before_batch: Callable[[list[int]], None] | None = None) -> dict[str, dict]:
    """Run ``sentences`` through the model once, writing every site's cache under ``output/<site>/``.

    ``before_batch`` receives each batch's sentence indices before its forward pass (the control variant keys its
    noise by them). Returns the manifests by site. Tokens/s are logged, not stored: caches are byte-reproducible.
    """
    model, tokenizer = loaded.model, loaded.tokenizer
    dims = {site: site_dim(model, site) for site in sites}  # validates the sites before any work
    dtype = DTYPES[config.dtype]
    writers = {site: ShardWriter(output / site, dtype, config.shard_tokens,
                                  f"model {info.model} ({info.variant}), site {site}") for site in sites}
    device = next(model.parameters()).device
    tokens = 0
    start = time.perf_counter()
    batches = length_buckets(sentences, config.batch_size)
    bar = tqdm(batches, desc=f"{info.model}/{info.variant}", unit="batch", mininterval=2.0, disable=not progress)
    with torch.inference_mode(), record_sites(model, sites) as captured:
        for indices in bar:
            batch = tokenizer([sentences[i] for i in indices], padding=True, truncation=True,
                              max_length=config.max_length, return_special_tokens_mask=True, return_tensors="pt")
            keep = token_mask(batch, config.exclude_special_tokens)
            if before_batch is not None:
                before_batch(indices)
            model(**{k: v.to(device) for k, v in batch.items() if k != "special_tokens_mask"})
            token_ids = batch["input_ids"][keep]
            sequence = torch.tensor(indices).unsqueeze(1).expand_as(keep)[keep]
            for site in sites:
                writers[site].add(captured[site][keep.to(device)].float().cpu(), token_ids, sequence)
            tokens += int(keep.sum())
            bar.set_postfix(tokens_per_s=f"{tokens / (time.perf_counter() - start):.0f}", refresh=False)
    elapsed = time.perf_counter() - start
    log.info("%s/%s: %d tokens in %.1f s (%.0f tokens/s), sites %s", info.model, info.variant, tokens, elapsed,
             tokens / max(elapsed, 1e-9), ", ".join(sites))
    manifests = {}
    for site, writer in writers.items():
        writer.close()
        manifest = {
            "version": MANIFEST_VERSION, "model": info.model, "model_source": info.model_record,
            "weights_sha256": info.model_record.get("weights_sha256"), "variant": info.variant,
            "variant_seed": info.variant_seed, "site": site, "d": dims[site], "dtype": config.dtype,
            "token_count": sum(s["tokens"] for s in writer.shards), "corpus_sha256": info.corpus_sha256,
            "corpus_sentences": info.corpus_sentences, "max_length": config.max_length,
            "tokenizer": {"class": type(tokenizer).__name__, "vocab_size": tokenizer.vocab_size},
            "special_tokens": "excluded ([CLS], [SEP], padding)" if config.exclude_special_tokens
            else "included ([CLS], [SEP]; padding excluded)",
            "shards": writer.shards,
        }
        atomic_write_json(output / site / "manifest.json", manifest)
        manifests[site] = manifest
    return manifests


class ActivationReader:
    """Streams a cached site shard by shard (memory-mapped), verifying each shard's checksum on first use."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        manifest = self.folder / "manifest.json"
        if not manifest.exists():
            raise ActivationError(f"no activation cache at {self.folder} (manifest.json missing); build it with "
                                  "`snakemake activations`")
        self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        self._verified: set[str] = set()

    @property
    def d(self) -> int:
        return int(self.manifest["d"])

    @property
    def token_count(self) -> int:
        return int(self.manifest["token_count"])

    def _path(self, shard: dict) -> Path:
        path = self.folder / shard["file"]
        if shard["file"] not in self._verified:
            if not path.exists():
                raise ActivationError(f"shard {path} listed in the manifest is missing; rebuild the cache with "
                                      f"`snakemake --cores all --forcerun {self.folder.parent}`")
            actual = sha256_file(path)
            if actual != shard["sha256"]:
                raise ActivationError(f"checksum mismatch for shard {path}: manifest {shard['sha256']}, file "
                                      f"{actual}; the cache is corrupt: rebuild it with `snakemake --cores all "
                                      f"--forcerun {self.folder.parent}` (`make verify` checks every cache)")
            self._verified.add(shard["file"])
        return path

    def shard(self, index: int, name: str = "activations") -> torch.Tensor:
        """One shard's tensor ``name`` (activations: (tokens, d) in the storage dtype)."""
        with safe_open(str(self._path(self.manifest["shards"][index])), framework="pt") as handle:
            return handle.get_tensor(name)

    def __len__(self) -> int:
        return len(self.manifest["shards"])

    def iter_shards(self, order: list[int] | None = None) -> Iterator[torch.Tensor]:
        """Each shard's activations as float32 (tokens, d), one at a time."""
        for index in order if order is not None else range(len(self)):
            yield self.shard(index).float()

    def iter_batches(self, batch_size: int, generator: torch.Generator,
                     shards: list[int] | None = None) -> Iterator[torch.Tensor]:
        """Endless shuffled float32 batches (batch, d) from ``shards`` (default all): shards in random order,
        tokens shuffled within each. At most one shard (plus one batch) is in memory, so memory stays flat as
        the cache grows.
        """
        shards = list(range(len(self))) if shards is None else list(shards)
        if not shards:
            raise ActivationError(f"{self.folder}: no shards to read")
        leftover = torch.empty(0, self.d)
        while True:
            order = [shards[i] for i in torch.randperm(len(shards), generator=generator).tolist()]
            for block in self.iter_shards(order):
                block = torch.cat([leftover, block[torch.randperm(block.shape[0], generator=generator)]])
                full = block.shape[0] // batch_size * batch_size
                yield from block[:full].split(batch_size)
                leftover = block[full:]

    def sample(self, n: int, generator: torch.Generator, shards: list[int] | None = None) -> torch.Tensor:
        """``n`` tokens drawn uniformly without replacement from ``shards`` (default all): float32 (n, d)."""
        shards = list(range(len(self))) if shards is None else list(shards)
        entries = [self.manifest["shards"][i] for i in shards]
        total = sum(entry["tokens"] for entry in entries)
        chosen = torch.randperm(total, generator=generator)[:min(n, total)].sort().values
        out, offset = [], 0
        for index, shard in zip(shards, entries):
            inside = chosen[(chosen >= offset) & (chosen < offset + shard["tokens"])] - offset
            if inside.numel():
                out.append(self.shard(index)[inside].float())
            offset += shard["tokens"]
        return torch.cat(out) if out else torch.empty(0, self.d)


