"""Expected compute of experiment random_vs_trained from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, model_size, sae_training_flops

__all__ = ["expected_cost"]


def expected_cost(config: dict[str, Any]) -> Cost:
    """One TopK SAE (J = expansion x d) per (variant, site) cell trained on batch x steps tokens, its held-out
    evaluation (2 x 2 d J per token), and Section 4's toy SAEs (one per k, on sparse and Gaussian data, before and
    after the random MLP). The activation caches are the lm stage's cost."""
    section = config["random_vs_trained"]
    d = model_size(section["model"]).d_model
    train = section["train"]
    cells = len(section["variants"]) * len(section["sites"])
    latents = cells * train["expansion"] * d
    flops = sae_training_flops(d, latents, train["batch_size"] * train["steps"])
    flops += 2.0 * 2.0 * d * latents * section["evaluate"]["eval_tokens"]
    toy = section["toy"]
    toy_latents = 4 * len(toy["ks"]) * toy["expansion"] * toy["n_features"]  # 2 data kinds x before/after
    flops += sae_training_flops(toy["dim"], toy_latents, toy["batch_size"] * toy["steps"])
    return Cost(flops, f"{cells} SAEs of {train['expansion'] * d:,} latents on {section['model']} "
                       f"(d = {d}), {train['batch_size'] * train['steps']:,} tokens each")
