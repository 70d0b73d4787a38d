"""Stitching stage of experiment `stitching`: every adjacent pair of the family, smaller → larger.

For each pair: the decoder-cosine matrix, each larger latent's maximum cosine with the smaller SAE and its class
(novel / reconstruction at θ), the ΔMSE of inserting each larger latent alone into the smaller SAE, the matched
groups and the ΔMSE of applying each alone, and the full stitching path (:mod:`~.stitch`). Every MSE is measured
on held-out tokens of the shared activation cache, scaled as in training.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import torch

from superposition.io import atomic_path, atomic_write_json
from superposition.lm.activations import ActivationReader
from superposition.runtime import make_generator
from superposition.stitching.config import StitchEvaluateConfig
from superposition.stitching.latents import LatentSet, from_batchtopk
from superposition.stitching.meta import random_unit_vectors
from superposition.stitching.matching import decoder_cosines, matched_groups, max_cosine_to_smaller, novel_mask
from superposition.stitching.stitch import group_deltas, insertion_deltas, l0, mse, path_order, stitching_path
from superposition.stitching.train import split_shards
from superposition.sweep import TrainedSweep, load_sweep

__all__ = ["family_saes", "held_out", "analyse_pair", "analyse_family"]

log = logging.getLogger(__name__)


def family_saes(trained: TrainedSweep) -> dict[int, LatentSet]:
    """The family's SAEs by dictionary size, as inference latents."""
    return {size: from_batchtopk(trained.stacks["batchtopk", size]) for size in trained.grid.dict_sizes}


def held_out(activations: Path, trained: TrainedSweep, config: StitchEvaluateConfig) -> torch.Tensor:
    """The held-out tokens (N, h), scaled as in training."""
    reader = ActivationReader(activations)
    _, shards = split_shards(reader, config.eval_shards)
    return reader.sample(config.eval_tokens, make_generator(config.eval_seed), shards) * float(trained.metadata["scale"])


def analyse_pair(x: torch.Tensor, small: LatentSet, large: LatentSet, threshold: float
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(latents table, groups table, path table, summary) of one smaller → larger pair on x (N, h)."""
    cosines = decoder_cosines(small.w_dec, large.w_dec)
    max_cos = max_cosine_to_smaller(cosines)
    novel = novel_mask(cosines, threshold)
    inserted = insertion_deltas(x, small, large)
    groups = matched_groups(cosines, threshold)
    deltas = group_deltas(x, small, large, groups)
    order = path_order(deltas)
    path = stitching_path(x, small, large, groups, order)
    latents = pd.DataFrame({"latent": range(large.size), "max_cosine": max_cos.numpy(), "novel": novel.numpy(),
                            "insertion_delta_mse": inserted.numpy()})
    group_table = pd.DataFrame({"group": range(len(groups)), "kind": [g.kind for g in groups],
                                "n_small": [len(g.small) for g in groups], "n_large": [len(g.large) for g in groups],
                                "delta_mse": deltas.numpy()})
    path_table = pd.DataFrame({"step": range(len(path.mse)), "n_latents": path.n_latents, "mse": path.mse,
                               "l0": path.l0, "step_se": path.step_se, "kind": ["start", *path.kind],
                               "group": [-1, *path.group]})
    chance = random_unit_vectors(large.size, large.w_dec.shape[1], 0)  # fixed seed: a reference, not a sample
    chance_max = max_cosine_to_smaller(decoder_cosines(small.w_dec, chance))
    rises = path.mse[1:] - path.mse[:-1]
    significant = path.significant_rises()
    small_mse, large_mse = mse(x, small), mse(x, large)
    summary = {
        "small": small.size, "large": large.size, "threshold": threshold,
        "small_mse": small_mse, "large_mse": large_mse, "small_l0": l0(x, small), "large_l0": l0(x, large),
        "n_novel": int(novel.sum()), "fraction_novel": float(novel.float().mean()),
        "median_max_cosine": float(max_cos.median()), "chance_median_max_cosine": float(chance_max.median()),
        "novel_inserts_lowering_mse": float((inserted[novel] < 0).float().mean()) if novel.any() else None,
        "reconstruction_inserts_lowering_mse": float((inserted[~novel] < 0).float().mean()) if (~novel).any() else None,
        "median_insertion_delta_novel": float(inserted[novel].median()) if novel.any() else None,
        "median_insertion_delta_reconstruction": float(inserted[~novel].median()) if (~novel).any() else None,
        "groups": {kind: int(sum(g.kind == kind for g in groups)) for kind in ("novel", "swap", "removed")},
        "median_swap_delta": float(deltas[[g.kind == "swap" for g in groups]].median())
        if any(g.kind == "swap" for g in groups) else None,
        "path_end_mse": float(path.mse[-1]), "path_total_rise": float(rises[rises > 0].sum()),
        "path_total_fall": float(-rises[rises < 0].sum()),
        "path_significant_rises": int(significant.sum()), "path_steps": int(len(rises)),
        "path_rises_by_kind": {kind: int(sum(1 for s, k in zip(significant, path.kind) if s and k == kind))
                               for kind in ("novel", "swap", "removed", "decoder_bias")},
    }
    return latents, group_table, path_table, summary


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False)


def analyse_family(activations: Path, sweep: Path, config: StitchEvaluateConfig, latents_csv: Path,
                   groups_csv: Path, path_csv: Path, family_csv: Path, summary_json: Path) -> dict:
    """Analyse every adjacent pair of the family; write the tables and the summary."""
    trained = load_sweep(sweep)
    x = held_out(activations, trained, config)
    saes = family_saes(trained)
    sizes = sorted(saes)
    family = pd.DataFrame({"dict_size": sizes, "mse": [mse(x, saes[s]) for s in sizes],
                           "l0": [l0(x, saes[s]) for s in sizes]})
    family["fraction_variance_unexplained"] = family.mse / float((x - x.mean(dim=0)).pow(2).sum(dim=1).mean())
    tables: dict[str, list[pd.DataFrame]] = {"latents": [], "groups": [], "path": []}
    pairs = []
    for small, large in zip(sizes, sizes[1:]):
        log.info("pair %d -> %d", small, large)
        parts = analyse_pair(x, saes[small], saes[large], config.similarity_threshold)
        for name, table in zip(("latents", "groups", "path"), parts[:3]):
            tables[name].append(table.assign(pair=f"{small}->{large}", small=small, large=large))
        pairs.append(parts[3])
    _write_csv(pd.concat(tables["latents"]), latents_csv)
    _write_csv(pd.concat(tables["groups"]), groups_csv)
    _write_csv(pd.concat(tables["path"]), path_csv)
    _write_csv(family, family_csv)
    summary = {"experiment": "stitching", "eval_tokens": int(x.shape[0]), "scale": float(trained.metadata["scale"]),
               "steps": trained.steps, "k": trained.grid.sparsities[0], "dict_sizes": sizes,
               "activations": json.loads(trained.metadata["activations"]), "pairs": pairs,
               "family": family.to_dict(orient="records")}
    atomic_write_json(summary_json, summary)
    return summary
