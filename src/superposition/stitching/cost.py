"""Expected compute of experiment stitching from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, model_size, sae_training_flops

__all__ = ["expected_cost"]


def expected_cost(config: dict[str, Any]) -> Cost:
    """The BatchTopK family (J = ratio x d for every ratio and k) trained on batch x steps tokens, and the
    meta-SAE (width_ratio x the largest J latents, on the largest SAE's J decoder rows of width d, batch x steps
    rows). Stitching evaluations and the toy are small beside them. The activation cache is the lm stage's cost."""
    section = config["stitching"]
    d = model_size(section["model"]).d_model
    train, meta = section["train"], section["meta"]
    latents = len(train["sparsities"]) * sum(train["dict_ratios"]) * d
    flops = sae_training_flops(d, latents, train["batch_size"] * train["steps"])
    largest = max(train["dict_ratios"]) * d
    flops += sae_training_flops(d, meta["width_ratio"] * largest, meta["batch_size"] * meta["steps"])
    flops += 2.0 * 2.0 * d * latents * section["evaluate"]["eval_tokens"]
    return Cost(flops, f"{latents:,.0f} latents of BatchTopK SAEs on {section['model']} {section['site']} "
                       f"(d = {d}) and a meta-SAE on the largest")
