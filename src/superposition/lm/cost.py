"""Expected compute of the shared language-model stage from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost, model_size, transformer_forward_flops

__all__ = ["WORDNET_TOKENS", "expected_cost"]

# Tokens of the whole WordNet training split (max_sentences: 0), as configs/paper.yaml states.
WORDNET_TOKENS = 1.6e6


def expected_cost(config: dict[str, Any]) -> Cost:
    """Forward passes that fill the activation caches: 2 x parameters per token, for every (model, variant)
    cache of lm.activations; tokens = max_sentences x max_length (padding counted), or the whole corpus."""
    lm = config["lm"]
    extraction = lm["extraction"]
    tokens = (extraction["max_sentences"] * extraction["max_length"] if extraction["max_sentences"]
              else WORDNET_TOKENS)
    caches = sorted({(request["model"], request["variant"]) for request in lm["activations"]})
    flops = sum(transformer_forward_flops(model_size(model), tokens) for model, _ in caches)
    return Cost(flops, f"forward passes over {tokens:,.0f} tokens for {len(caches)} cache(s)")
