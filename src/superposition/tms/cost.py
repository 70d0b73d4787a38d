"""Expected compute of experiment tms from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost

__all__ = ["expected_cost"]


def _model(n_features: int, n_hidden: int, instances: int, steps: int, batch: int) -> float:
    # x -> W x -> W^T (W x): two products of n m per sample forward, twice that backward.
    return 6.0 * 2.0 * n_features * n_hidden * instances * steps * batch


def expected_cost(config: dict[str, Any]) -> Cost:
    """Training of every toy model of the four experiments: 12 n m x batch x steps per model (W used twice)."""
    tms = config["tms"]
    batch = tms["train"]["batch_size"]
    intro, sweep, phase, dim = tms["intro"], tms["sparsity_sweep"], tms["phase"], tms["dimensionality"]
    cells = phase["importance_points"] * phase["density_points"] * phase["replicates"]
    flops = (_model(intro["n_features"], intro["n_hidden"], len(intro["sparsities"]), intro["steps"], batch)
             + _model(sweep["n_features"], sweep["n_hidden"], len(sweep["sparsities"]), sweep["steps"], batch)
             + _model(2, 1, cells, phase["steps"], batch)
             + _model(dim["n_features"], dim["n_hidden"], dim["levels"], dim["steps"], batch))
    models = len(intro["sparsities"]) + len(sweep["sparsities"]) + cells + dim["levels"]
    return Cost(flops, f"training {models} toy models")
