"""Expected compute of experiment toy_sae from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, sae_training_flops

__all__ = ["expected_cost"]


def expected_cost(config: dict[str, Any]) -> Cost:
    """SAE training of the main sweep and of the architecture comparison: 6 x 2 h J x batch x steps summed over
    every (sparsity, J = ratio x G) of the grids; held-out evaluation 2 x 2 h J per sample."""
    section = config["toy_sae"]
    dim, features = section["data"]["dim"], section["data"]["n_features"]
    train = section["train"]
    latents = len(train["sparsities"]) * sum(train["dict_ratios"]) * features
    flops = sae_training_flops(dim, latents, train["batch_size"] * train["steps"])
    flops += 2.0 * 2.0 * dim * latents * section["evaluate"]["eval_samples"]
    arch = section["architectures"]["train"]
    arch_latents = sum(len(grid["sparsities"]) for grid in arch["grids"]) * sum(arch["dict_ratios"]) * features
    flops += sae_training_flops(dim, arch_latents, arch["batch_size"] * arch["steps"])
    return Cost(flops, f"{latents:,.0f} + {arch_latents:,.0f} latents of SAE training on h = {dim}")
