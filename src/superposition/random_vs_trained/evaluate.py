"""Evaluation stage of `random_vs_trained`: per (variant, site) cell, the paper's SAE metrics on held-out tokens,
the offline interpretability proxy, the token-distribution entropy of every latent, and top-context tables.

- Reconstruction (:mod:`superposition.sae_metrics`): 1 − FVU, per-token EV, cosine similarity of x and x̂, L0, L1
  (in the scaled units of :mod:`.train`), dead fraction (latents that never fire on the held-out tokens).
- Interpretability (:mod:`superposition.interpretability`): latents sampled uniformly among those with at least
  ``min_windows`` activating held-out sentences, explained by the token-profile explainer and scored by detection
  and fuzzing AUROC. The rng of a cell is seeded by (seed, variant, site).
- Token entropy (:func:`latent_token_entropies`): for each latent with at least ``entropy_min_activations``
  activating held-out tokens, the entropy (nats) of the distribution over token ids of its activation mass,
  p(t) = Σ_{tokens of id t} z / Σ z. INTERPRETATION: the paper's abstractness measure is an entropy of the token
  distribution of a latent's activations; we weight by activation (``mass``) and report the count-weighted
  version beside it in latents.csv. A latent that fires on one token id has entropy 0; abstract latents, that fire
  on many different tokens, have high entropy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from superposition.interpretability import (
    Explainer,
    InterpretabilityConfig,
    LatentScore,
    Scorer,
    TokenProfileExplainer,
    TokenProfileScorer,
    score_latent,
    sentence_spans,
)
from superposition.io import atomic_path, atomic_write_json
from superposition.lm.activations import ActivationReader
from superposition.random_vs_trained.config import RVTEvaluateConfig
from superposition.random_vs_trained.sae import CellSAEs, decode, topk_encode
from superposition.random_vs_trained.train import TrainedCells, load_cells, split_shards
from superposition.runtime import derived_seed, make_generator
from superposition.sae_metrics import ReconstructionMetrics

log = logging.getLogger(__name__)

__all__ = ["latent_token_entropies", "cell_metrics", "embedding_identity", "evaluate_cells", "CHUNK"]

CHUNK = 2048  # tokens per chunk of encoding (bounds the dense (chunk, J) code)


def encode_all(x: torch.Tensor, saes: CellSAEs, cell: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) (N, k) of x (N, d), in chunks."""
    parts = [topk_encode(x[i:i + CHUNK], saes, cell) for i in range(0, x.shape[0], CHUNK)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def cell_metrics(x: torch.Tensor, saes: CellSAEs, cell: int) -> dict[str, float]:
    """The reconstruction metrics of :mod:`superposition.sae_metrics` of one cell on x (N, d), in chunks."""
    metrics = ReconstructionMetrics(saes.n_latents)
    mean = x.double().mean(dim=0)
    for start in range(0, x.shape[0], CHUNK):
        chunk = x[start:start + CHUNK]
        values, index = topk_encode(chunk, saes, cell)
        codes = torch.zeros(chunk.shape[0], saes.n_latents).scatter_(1, index, values)
        metrics.add(chunk, decode(values, index, saes, cell), codes, mean)
    return metrics.result()


def latent_token_entropies(values: np.ndarray, index: np.ndarray, tokens: np.ndarray, n_latents: int,
                           weighting: str = "mass") -> tuple[np.ndarray, np.ndarray]:
    """(entropy (J,), activating-token count (J,)) of every latent from sparse codes values, index (N, k) on token
    ids (N,): :func:`superposition.interpretability.token_entropy` for all latents at once (NaN for silent ones)."""
    if weighting not in ("mass", "count"):
        raise ValueError(f"weighting must be 'mass' or 'count', not {weighting!r}")
    fired = values > 0
    latents = index[fired].astype(np.int64)
    ids = np.broadcast_to(tokens[:, None], index.shape)[fired].astype(np.int64)
    weights = values[fired].astype(np.float64) if weighting == "mass" else np.ones(len(latents))
    counts = np.bincount(latents, minlength=n_latents)
    pairs, inverse = np.unique(latents * (int(ids.max(initial=0)) + 1) + ids, return_inverse=True)
    pair_mass = np.bincount(inverse, weights=weights)
    pair_latent = pairs // (int(ids.max(initial=0)) + 1)
    total = np.bincount(pair_latent, weights=pair_mass, minlength=n_latents)
    p = pair_mass / total[pair_latent]
    entropy = np.bincount(pair_latent, weights=-p * np.log(p), minlength=n_latents)
    entropy[counts == 0] = np.nan
    return entropy, counts


def _windows_per_latent(index: np.ndarray, fired: np.ndarray, sentence: np.ndarray, n_latents: int) -> np.ndarray:
    """(J,) number of distinct sentences in which each latent fires."""
    latents = index[fired].astype(np.int64)
    sentences = np.broadcast_to(sentence[:, None], index.shape)[fired].astype(np.int64)
    pairs = np.unique(latents * (int(sentence.max(initial=0)) + 1) + sentences)
    return np.bincount(pairs // (int(sentence.max(initial=0)) + 1), minlength=n_latents)


def _latent_activations(values: np.ndarray, index: np.ndarray, latent: int) -> np.ndarray:
    hit = index == latent
    out = np.zeros(values.shape[0])
    rows = np.flatnonzero(hit.any(axis=1))
    out[rows] = (values * hit).sum(axis=1)[rows]
    return out


def score_cell(values: np.ndarray, index: np.ndarray, tokens: np.ndarray, sentence: np.ndarray, n_latents: int,
               config: InterpretabilityConfig, seed: int, explainer: Explainer | None = None,
               scorer: Scorer | None = None) -> list[LatentScore]:
    """Sample latents among those with ≥ ``min_windows`` activating sentences and score each with ``explainer``
    and ``scorer`` (default: the offline token profile; an LLM pair plugs in through the same protocols)."""
    spans = sentence_spans(sentence)
    windows = _windows_per_latent(index, values > 0, sentence, n_latents)
    eligible = np.flatnonzero(windows >= config.min_windows)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, size=min(config.latents_per_cell, len(eligible)), replace=False))
    explainer = explainer or TokenProfileExplainer(config.highlight_fraction, config.coverage, config.max_terms)
    scorer = scorer or TokenProfileScorer()
    scores = []
    for latent in chosen.tolist():
        score = score_latent(latent, _latent_activations(values, index, latent), tokens, spans, config, rng,
                             explainer, scorer)
        if score is not None:
            scores.append(score)
    return scores


def embedding_identity(first: ActivationReader, second: ActivationReader) -> float:
    """max |a − b| over every cached token of two caches of one site (0: identical activations)."""
    if first.token_count != second.token_count:
        return float("inf")
    worst = 0.0
    for a, b in zip(first.iter_shards(), second.iter_shards()):
        worst = max(worst, float((a - b).abs().max()))
    return worst


def _context_rows(score: LatentScore, decode_tokens: Callable[[Sequence[int]], list[str]]) -> dict:
    windows = []
    for window in score.top_windows:
        words = decode_tokens(window.tokens)
        peak = max(window.activations)
        windows.append(" ".join(f"[{w}]" if a >= 0.3 * peak and a > 0 else w
                                for w, a in zip(words, window.activations)))
    explanation = score.explanation.describe(lambda t: decode_tokens([t])[0])
    return {"latent": score.latent, "activating_windows": score.activating_windows,
            "detection_auroc": score.detection_auroc, "fuzzing_auroc": score.fuzzing_auroc,
            "explanation": explanation, "top_windows": windows}


def evaluate_cells(activations: Path, saes_path: Path, config: RVTEvaluateConfig,
                   interpretability: InterpretabilityConfig, decode_tokens: Callable[[Sequence[int]], list[str]],
                   metrics_csv: Path, latents_csv: Path, metrics_json: Path, contexts_json: Path,
                   explainer: Explainer | None = None, scorer: Scorer | None = None) -> pd.DataFrame:
    """Every cell's metrics, interpretability scores, entropies and top contexts (files as named); ``explainer`` and
    ``scorer`` default to the offline token profile."""
    trained: TrainedCells = load_cells(saes_path)
    saes = trained.saes
    rows, latent_rows, contexts = [], [], {}
    for cell_index, cell in enumerate(trained.cells):
        variant, site = cell.split("/")
        reader = ActivationReader(activations / cell)
        _, eval_shards = split_shards(reader, config.eval_shards)
        scale = float(trained.scales[cell_index])
        x = reader.sample(config.eval_tokens, make_generator(config.eval_seed), eval_shards) * scale
        metrics = cell_metrics(x, saes, cell_index)
        held = torch.cat([reader.shard(i).float() for i in eval_shards]) * scale
        tokens = np.concatenate([reader.shard(i, "token_ids").numpy() for i in eval_shards]).astype(np.int64)
        sentence = np.concatenate([reader.shard(i, "sequence_index").numpy() for i in eval_shards])
        values, index = (t.numpy() for t in encode_all(held, saes, cell_index))
        entropy, counts = latent_token_entropies(values, index, tokens, saes.n_latents)
        entropy_count, _ = latent_token_entropies(values, index, tokens, saes.n_latents, "count")
        scores = score_cell(values, index, tokens, sentence, saes.n_latents, interpretability,
                            derived_seed(interpretability.seed, variant, site), explainer, scorer)
        by_latent = {score.latent: score for score in scores}
        kept = counts >= interpretability.entropy_min_activations
        for latent in range(saes.n_latents):
            score = by_latent.get(latent)
            latent_rows.append({"variant": variant, "site": site, "latent": latent, "activations": int(counts[latent]),
                                "entropy": float(entropy[latent]), "entropy_count": float(entropy_count[latent]),
                                "detection_auroc": None if score is None else score.detection_auroc,
                                "fuzzing_auroc": None if score is None else score.fuzzing_auroc})
        detection = [s.detection_auroc for s in scores if s.detection_auroc is not None]
        fuzzing = [s.fuzzing_auroc for s in scores if s.fuzzing_auroc is not None]
        rows.append({"variant": variant, "site": site, **metrics, "scored_latents": len(scores),
                     "detection_auroc": float(np.mean(detection)) if detection else None,
                     "fuzzing_auroc": float(np.mean(fuzzing)) if fuzzing else None,
                     "entropy_latents": int(kept.sum()),
                     "token_entropy": float(np.mean(entropy[kept])) if kept.any() else None,
                     "eval_tokens": int(x.shape[0]), "interpretability_tokens": int(held.shape[0])})
        contexts[cell] = [_context_rows(score, decode_tokens) for score in scores[:config.top_latents]]
        log.info("%s: FVE %.3f, cos %.3f, L0 %.1f, dead %.3f, detection %s, fuzzing %s, entropy %s", cell,
                 metrics["fraction_variance_explained"], metrics["cosine_similarity"], metrics["l0"],
                 metrics["dead_fraction"], rows[-1]["detection_auroc"], rows[-1]["fuzzing_auroc"],
                 rows[-1]["token_entropy"])
    table = pd.DataFrame(rows)
    with atomic_path(metrics_csv) as temporary:
        table.to_csv(temporary, index=False)
    with atomic_path(latents_csv) as temporary:
        pd.DataFrame(latent_rows).to_csv(temporary, index=False)
    variants = list(dict.fromkeys(table.variant))
    identity = None
    if {"trained", "rerandomised_no_embeddings"} <= set(variants) and "embeddings" in set(table.site):
        identity = embedding_identity(ActivationReader(activations / "trained" / "embeddings"),
                                      ActivationReader(activations / "rerandomised_no_embeddings" / "embeddings"))
    history = {cell: trained.history_loss[:, i].tolist() for i, cell in enumerate(trained.cells)}
    atomic_write_json(metrics_json, {
        "experiment": "random_vs_trained",
        "summary": {"steps": int(trained.metadata["steps"]), "k": saes.k, "n_latents": saes.n_latents,
                    "d": saes.dim, "embedding_max_abs_difference_trained_vs_rerandomised_no_embeddings": identity},
        "train_config": json.loads(trained.metadata["train_config"]),
        "activations": json.loads(trained.metadata["activations"]),
        "history_steps": trained.history_steps.tolist(), "history_loss": history,
        "cells": table.to_dict(orient="records")})
    atomic_write_json(contexts_json, contexts)
    return table


def token_decoder(name: str, registry: dict, model_dir: Path | None) -> Callable[[Sequence[int]], list[str]]:
    """A function from token ids to their strings, with model ``name``'s tokenizer (of the registry)."""
    from transformers import AutoTokenizer

    from superposition.lm.models import model_folder

    tokenizer = AutoTokenizer.from_pretrained(model_folder(name, registry, model_dir))
    return lambda ids: tokenizer.convert_ids_to_tokens([int(i) for i in ids])
