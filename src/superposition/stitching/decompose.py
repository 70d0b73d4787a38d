"""Meta-SAE stage of experiment `stitching`: the meta-SAE on the largest SAE's decoder, its baselines, and the
decompositions of a few latents with their top WordNet contexts (the paper's Figure 1, as tables).

Baselines (the issue's two, in the same run): the same meta-SAE trained on random unit vectors of the same shape;
and for each meta-latent its best cosine with the latents of each smaller SAE, against the same for as many
isotropic random unit vectors (chance) and for the random baseline's meta-latents.

Latents shown: drawn with the configured seed among the largest SAE's latents that fire on the held-out tokens and
have at least two active meta-latents. Each meta-latent is described, as the paper's dashboard does, by the
smallest SAE's latent closest to it (with that latent's top contexts) and by the other latents of the largest SAE
that use it most.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from transformers import AutoTokenizer

from superposition.io import atomic_save_safetensors, atomic_write_json
from superposition.lm.config import ModelSourceConfig
from superposition.lm.models import model_folder
from superposition.runtime import derived_seed, make_generator
from superposition.stitching.analyse import family_saes
from superposition.stitching.config import ContextsConfig, MetaSAEConfig
from superposition.stitching.contexts import load_held_out_tokens, render_context, top_tokens
from superposition.stitching.latents import LatentSet
from superposition.stitching.meta import MetaSAE, best_match_cosines, random_unit_vectors, train_meta_sae
from superposition.stitching.train import split_shards
from superposition.lm.activations import ActivationReader
from superposition.sweep import load_sweep

__all__ = ["run_meta", "match_summary"]

log = logging.getLogger(__name__)


def match_summary(meta: MetaSAE, random_meta: MetaSAE, saes: dict[int, LatentSet], seed: int) -> list[dict]:
    """Per smaller SAE: mean and median best cosine of the meta-latents, of chance vectors, of random meta-latents."""
    chance = random_unit_vectors(meta.decoder.shape[0], meta.decoder.shape[1], derived_seed(seed, "chance"))
    rows = []
    for size in sorted(saes)[:-1]:
        found = {name: best_match_cosines(vectors, saes[size].w_dec) for name, vectors in
                 (("meta", meta.decoder), ("chance", chance), ("random_meta", random_meta.decoder))}
        rows.append({"dict_size": size, **{f"{name}_mean": float(v.mean()) for name, v in found.items()},
                     **{f"{name}_median": float(v.median()) for name, v in found.items()},
                     "meta_values": found["meta"].tolist(), "chance_values": found["chance"].tolist()})
    return rows


def _contexts(codes: torch.Tensor, tokens, count: int, window: int, convert) -> list[dict]:
    return [{"activation": float(codes[p]), "text": render_context(tokens, p, window, convert)}
            for p in top_tokens(codes, count)]


@torch.no_grad()
def run_meta(activations: Path, sweep: Path, model_name: str, registry: dict[str, ModelSourceConfig],
             model_dir: Path, meta_config: MetaSAEConfig, contexts: ContextsConfig, eval_shards: int, device: str,
             meta_json: Path, meta_tensors: Path) -> dict:
    """Train the meta-SAE and its random baseline, compare with the smaller SAEs, decompose a few latents (top
    contexts from the last ``eval_shards`` shards of the cache, held out from training)."""
    trained = load_sweep(sweep)
    saes = family_saes(trained)
    largest = saes[max(saes)]
    meta = train_meta_sae(largest.w_dec, meta_config, device)
    random_meta = train_meta_sae(random_unit_vectors(largest.size, largest.w_dec.shape[1], meta_config.random_seed),
                                 meta_config, device)
    log.info("meta-SAE FVE %.3f (random %.3f), L0 %.2f", meta.fve, random_meta.fve, meta.l0)
    matches = match_summary(meta, random_meta, saes, meta_config.random_seed)
    reader = ActivationReader(activations)
    _, shards = split_shards(reader, eval_shards)
    tokens = load_held_out_tokens(activations, shards, float(trained.metadata["scale"]))
    tokenizer = AutoTokenizer.from_pretrained(model_folder(model_name, registry, model_dir))
    convert = tokenizer.convert_ids_to_tokens
    active = (meta.codes > 0).sum(dim=1)
    fires = torch.zeros(largest.size, dtype=torch.bool)
    for chunk in tokens.activations.split(4096):
        fires |= (largest.encode(chunk) > 0).any(dim=0)
    candidates = torch.nonzero(fires & (active >= 2)).flatten()
    chosen = candidates[torch.randperm(len(candidates), generator=make_generator(contexts.seed))]
    chosen = sorted(chosen[: contexts.latents].tolist())
    smallest = saes[min(saes)]
    meta_unit = meta.decoder / meta.decoder.norm(dim=1, keepdim=True)
    closest = (meta_unit @ smallest.w_dec.T).max(dim=1)  # per meta-latent: (cos, index) in the smallest SAE
    shown_small = sorted({int(closest.indices[m]) for j in chosen for m in torch.nonzero(meta.codes[j]).flatten()})
    codes_large = largest.subset(chosen).encode(tokens.activations)  # (N, shown)
    codes_small = smallest.subset(shown_small).encode(tokens.activations) if shown_small else None
    count, window = contexts.top_contexts, contexts.window
    decompositions = []
    for column, latent in enumerate(chosen):
        parts = []
        for m in sorted(torch.nonzero(meta.codes[latent]).flatten().tolist(), key=lambda m: -float(meta.codes[latent, m])):
            small_latent = int(closest.indices[m])
            users = [i for i in torch.argsort(meta.codes[:, m], descending=True, stable=True)[:4].tolist()
                     if i != latent and meta.codes[i, m] > 0][:3]
            parts.append({"meta_latent": m, "weight": float(meta.codes[latent, m]),
                          "closest_small_latent": small_latent, "closest_small_cosine": float(closest.values[m]),
                          "small_contexts": _contexts(codes_small[:, shown_small.index(small_latent)], tokens, count,
                                                      window, convert),
                          "other_latents_using_it": users})
        decompositions.append({"latent": latent, "contexts": _contexts(codes_large[:, column], tokens, count, window,
                                                                       convert), "meta_latents": parts})
    summary = {"experiment": "stitching", "latents": largest.size, "meta_latents": int(meta.decoder.shape[0]),
               "k": meta_config.k, "width_ratio": meta_config.width_ratio,
               "fve": meta.fve, "l0": meta.l0, "random_fve": random_meta.fve, "random_l0": random_meta.l0,
               "active_meta_latents_histogram": torch.bincount(active, minlength=meta_config.k * 3).tolist(),
               "matches": matches, "smallest_size": smallest.size, "decompositions": decompositions}
    atomic_save_safetensors({"meta_decoder": meta.decoder.contiguous(), "meta_codes": meta.codes.contiguous(),
                             "random_meta_decoder": random_meta.decoder.contiguous()}, meta_tensors, {})
    atomic_write_json(meta_json, summary)
    return summary
