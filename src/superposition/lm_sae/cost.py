"""Expected compute of experiment lm_sae from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, model_size, sae_training_flops

__all__ = ["expected_cost", "site_width"]


def site_width(model: str, site: str) -> int:
    """Width of an activation site: the MLP's hidden width for mlp.N, the model width otherwise."""
    size = model_size(model)
    return size.d_mlp if site.startswith("mlp.") else size.d_model


def expected_cost(config: dict[str, Any]) -> Cost:
    """SAE training on the site's activations: 6 x 2 d J x batch x steps over the grid (J = ratio x d), and the
    held-out evaluation (2 x 2 d J per token). The activation caches are the lm stage's cost."""
    section = config["lm_sae"]
    d = site_width(section["model"], section["site"])
    train = section["train"]
    latents = len(train["sparsities"]) * sum(train["dict_ratios"]) * d
    flops = sae_training_flops(d, latents, train["batch_size"] * train["steps"])
    flops += 2.0 * 2.0 * d * latents * section["evaluate"]["eval_tokens"]
    return Cost(flops, f"{latents:,.0f} latents of SAE training on {section['model']} {section['site']} (d = {d})")
