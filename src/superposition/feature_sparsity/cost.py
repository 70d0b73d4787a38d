"""Expected compute of experiment feature_sparsity from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, model_size

__all__ = ["CONTROLS", "expected_cost"]

# Datasets coded beside each sparse linear one in the synthetic part: Gaussian, heavy-tailed and Rademacher.
CONTROLS = 3


def _coding(coder: dict[str, Any], d: int, atoms: int) -> float:
    # Per minibatch iteration: correlations with the dictionary and the reconstruction (2 x 2 d atoms per
    # sample) and the dictionary step (as much again), for every adaptive-λ round.
    return 8.0 * d * atoms * coder["batch_size"] * coder["iterations"] * max(coder["adaptive_rounds"], 1)


def expected_cost(config: dict[str, Any]) -> Cost:
    """Sparse coding of every dataset: synthetic settings (each density and the controls), token embeddings of
    each model (and its Gaussian) and the residual stream at every depth, counted per minibatch iteration."""
    section = config["feature_sparsity"]
    synthetic = section["synthetic"]
    flops = sum(_coding(synthetic["coder"], s["d"], s["d"] * s["dict_ratio"]) * (len(synthetic["active"]) + CONTROLS)
                for s in synthetic["settings"])
    embeddings = section["embeddings"]
    for model in embeddings["models"]:
        d = model_size(model).d_model
        flops += 2 * _coding(embeddings["coder"], d, d * embeddings["dict_ratio"])
    layers = section["layers"]
    for entry in layers["models"]:
        d = model_size(entry["model"]).d_model
        flops += (entry["layers"] + 1) * _coding(layers["coder"], d, d * layers["dict_ratio"])
    return Cost(flops, "sparse coding of the synthetic, embedding and layer datasets")
