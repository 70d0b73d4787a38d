"""The four experiments of `tms`: which instances each trains, and how they are measured.

Each experiment ("part") is one :class:`~superposition.tms.model.ToyModelStack` trained in one batched run;
:func:`train_part` is what the training rule calls, :func:`analyze_parts` what the analysis rule calls.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from superposition.io import atomic_save_safetensors, atomic_write_json
from superposition.runtime import make_generator, resolve_device
from superposition.tms.config import (
    TMSConfig,
    TMSDimensionalityConfig,
    TMSIntroConfig,
    TMSPhaseConfig,
    TMSSparsityConfig,
    TMSTrainConfig,
)
from superposition.tms.measures import (
    REPRESENTED_NORM,
    dimensions_per_feature,
    feature_dimensionality,
    feature_norms,
    n_represented,
    neighbour_angles,
    superposition,
)
from superposition.tms.model import ToyModelStack, TrainedToyModels, sample_features, train_toy_models
from superposition.tms.phase import PHASES, classify_phase, theoretical_phase

__all__ = ["PARTS", "PART_CONFIGS", "build_stack", "train_part", "save_models", "load_models", "phase_grid",
           "dimensionality_densities",
           "analyze_parts"]

log = logging.getLogger(__name__)

PARTS = ("intro", "sparsity_sweep", "phase", "dimensionality")


def _decaying(decay: float, n: int) -> list[float]:
    return [decay**i for i in range(n)]


def phase_grid(config: TMSPhaseConfig) -> tuple[np.ndarray, np.ndarray]:
    """Log-spaced relative importances and densities of the phase diagram."""
    importances = np.geomspace(config.importance_min, config.importance_max, config.importance_points)
    densities = np.geomspace(config.density_min, config.density_max, config.density_points)
    return importances, densities


def dimensionality_densities(config: TMSDimensionalityConfig) -> np.ndarray:
    """Feature densities 1 − S = base^(−k/(levels − 1)), k = 0 … levels − 1 (from dense to sparse)."""
    return config.density_base ** (-np.arange(config.levels) / (config.levels - 1))


PART_CONFIGS: dict[str, type] = {"intro": TMSIntroConfig, "sparsity_sweep": TMSSparsityConfig,
                                 "phase": TMSPhaseConfig, "dimensionality": TMSDimensionalityConfig}


def build_stack(part: str, config: Any, seed: int) -> ToyModelStack:
    """The untrained instances of one experiment; ``config`` is that part's section (see PART_CONFIGS)."""
    if part not in PART_CONFIGS:
        raise ValueError(f"unknown tms part {part!r}: choose one of {', '.join(PARTS)}")
    if not isinstance(config, PART_CONFIGS[part]):
        raise TypeError(f"part {part!r} needs a {PART_CONFIGS[part].__name__}, got {type(config).__name__}")
    if part == "intro":
        keys, importance, probability, relu = [], [], [], []
        for model in ("relu", "linear"):
            for sparsity in config.sparsities:
                keys.append(f"{model}/S={sparsity:g}")
                importance.append(_decaying(config.importance_decay, config.n_features))
                probability.append([1 - sparsity] * config.n_features)
                relu.append(model == "relu")
        return ToyModelStack.create(config.n_features, config.n_hidden, importance, probability, relu, keys, seed)
    if part == "sparsity_sweep":
        levels = config.sparsities
        return ToyModelStack.create(config.n_features, config.n_hidden,
                                    [_decaying(config.importance_decay, config.n_features)] * len(levels),
                                    [[1 - s] * config.n_features for s in levels], [True] * len(levels),
                                    [f"S={s:g}" for s in levels], seed)
    if part == "phase":
        importances, densities = phase_grid(config)
        cells = [(r, p, k) for r in importances for p in densities for k in range(config.replicates)]
        return ToyModelStack.create(2, 1, [[1.0, r] for r, _, _ in cells], [[p, p] for _, p, _ in cells],
                                    [True] * len(cells), [f"r={r:.6g}/p={p:.6g}/rep={k}" for r, p, k in cells], seed)
    densities = dimensionality_densities(config)
    return ToyModelStack.create(config.n_features, config.n_hidden, [[1.0] * config.n_features] * len(densities),
                                [[float(p)] * config.n_features for p in densities], [True] * len(densities),
                                [f"k={k}" for k in range(len(densities))], seed)


def save_models(trained: TrainedToyModels, path: Path, metadata: dict[str, str]) -> None:
    """Write trained instances (safetensors; keys and provenance in the metadata)."""
    stack = trained.stack
    tensors = {"w": stack.w, "b": stack.b, "importance": stack.importance,
               "feature_probability": stack.feature_probability,
               "relu": stack.relu.to(torch.uint8), "history_steps": trained.history_steps,
               "history_loss": trained.history_loss}
    atomic_save_safetensors(tensors, path, {**metadata, "keys": json.dumps(stack.keys)})


def load_models(path: Path) -> TrainedToyModels:
    """Read instances written by :func:`save_models`."""
    with safe_open(str(path), framework="pt") as handle:
        keys = json.loads(handle.metadata()["keys"])
        t = {name: handle.get_tensor(name) for name in handle.keys()}
    stack = ToyModelStack(t["w"], t["b"], t["importance"], t["feature_probability"], t["relu"].bool(), keys)
    return TrainedToyModels(stack, t["history_steps"], t["history_loss"])


def train_part(part: str, config: Any, train: TMSTrainConfig, device: str, output: Path,
               progress: bool = True) -> TrainedToyModels:
    """Train every instance of one experiment in one batched run and save them to ``output``."""
    stack = build_stack(part, config, train.seed)
    log.info("tms/%s: %d instances of n=%d, m=%d for %d steps", part, stack.n_instances, stack.w.shape[1],
             stack.w.shape[2], config.steps)
    trained = train_toy_models(stack, config.steps, train.batch_size, train.lr, train.weight_decay, train.data_seed,
                               resolve_device(device), train.log_every, progress, description=f"tms/{part}")
    save_models(trained, output, {"part": part, "train_config": json.dumps(dataclasses.asdict(train)),
                                  "part_config": json.dumps(dataclasses.asdict(config))})
    return trained


# --- analysis -------------------------------------------------------------------------------------------


def _intro(trained: TrainedToyModels, config: TMSIntroConfig) -> dict[str, Any]:
    results = {}
    for index, key in enumerate(trained.stack.keys):
        w = trained.stack.w[index]
        norms = feature_norms(w)
        represented = [i for i, v in enumerate(norms.tolist()) if v > REPRESENTED_NORM]
        entry = {"norms": norms.tolist(), "n_represented": len(represented), "bias": trained.stack.b[index].tolist()}
        if w.shape[-1] == 2 and len(represented) >= 2:
            entry["neighbour_angles"] = neighbour_angles(w, represented)
        results[key] = entry
    return {"sparsities": list(config.sparsities), "n_hidden": config.n_hidden, "models": results}


def _sparsity_sweep(trained: TrainedToyModels, config: TMSSparsityConfig) -> dict[str, Any]:
    levels = []
    for index, sparsity in enumerate(config.sparsities):
        w = trained.stack.w[index]
        levels.append({"sparsity": sparsity, "norms": feature_norms(w).tolist(),
                       "superposition": superposition(w).tolist(),
                       "n_represented": int(n_represented(w))})
    return {"n_hidden": config.n_hidden, "levels": levels}


@torch.no_grad()
def _held_out_loss(stack: ToyModelStack, samples: int, seed: int) -> torch.Tensor:
    """Per-instance loss on ``samples`` fresh samples (in chunks): (I,)."""
    generator = make_generator(seed)
    total, remaining = torch.zeros(stack.n_instances), samples
    while remaining > 0:
        size = min(remaining, 8192)
        total += stack.loss(sample_features(stack.feature_probability, size, generator)) * size
        remaining -= size
    return total / samples


def _phase(trained: TrainedToyModels, config: TMSPhaseConfig) -> dict[str, Any]:
    importances, densities = phase_grid(config)
    shape = (len(importances), len(densities), config.replicates)
    losses = _held_out_loss(trained.stack, config.eval_samples, config.eval_seed).view(shape)
    phases = classify_phase(trained.stack.w).view(shape)
    best = losses.argmin(dim=-1, keepdim=True)
    empirical = phases.gather(-1, best).squeeze(-1).numpy()
    theory = theoretical_phase(importances[:, None], densities[None, :])
    agreement = float((empirical == theory).mean())
    return {"phases": list(PHASES), "relative_importances": importances.tolist(), "densities": densities.tolist(),
            "empirical": empirical.tolist(), "theoretical": theory.tolist(), "agreement": agreement,
            "replicate_phases": phases.numpy().tolist(), "best_replicate": best.squeeze(-1).numpy().tolist(),
            "empirical_counts": {name: int((empirical == i).sum()) for i, name in enumerate(PHASES)},
            "theoretical_counts": {name: int((theory == i).sum()) for i, name in enumerate(PHASES)}}


def _dimensionality(trained: TrainedToyModels, config: TMSDimensionalityConfig) -> dict[str, Any]:
    densities = dimensionality_densities(config)
    w = trained.stack.w
    d_star = dimensions_per_feature(w)
    d_i = feature_dimensionality(w)  # (levels, n)
    return {"densities": densities.tolist(), "inverse_density": (1 / densities).tolist(), "d_star": d_star.tolist(),
            "feature_dimensionality": d_i.tolist()}


def analyze_parts(models: dict[str, Path], config: TMSConfig, output: Path) -> dict[str, Any]:
    """Measure the trained models of every part and write ``metrics.json``."""
    analyses = {"intro": lambda t: _intro(t, config.intro),
                "sparsity_sweep": lambda t: _sparsity_sweep(t, config.sparsity_sweep),
                "phase": lambda t: _phase(t, config.phase),
                "dimensionality": lambda t: _dimensionality(t, config.dimensionality)}
    metrics: dict[str, Any] = {"experiment": "tms", "config": dataclasses.asdict(config)}
    for part in PARTS:
        metrics[part] = analyses[part](load_models(models[part]))
    atomic_write_json(output, metrics)
    return metrics
