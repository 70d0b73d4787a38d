"""Null-model variants of a trained transformer (Heap et al., "SAEs can interpret randomly initialised
transformers"), each selected by name so that any experiment can request activations of any variant.

- ``trained``: the model as loaded.
- ``rerandomised``: every parameter tensor (weights, biases, LayerNorm parameters, embeddings) re-sampled
  i.i.d. Gaussian with that tensor's own mean and standard deviation.
- ``rerandomised_no_embeddings``: the same, except the embedding module's parameters (token, position and
  type embeddings and the embedding LayerNorm), which stay trained.
- ``step0``: a fresh model of the same architecture from ``from_config`` (the architecture's own initialiser).
- ``control``: the trained model with its input token-embedding matrix replaced by i.i.d. N(0, 1) entries (one
  fixed random vector per vocabulary token; position and type embeddings stay trained).
"""

from __future__ import annotations

import torch
from transformers import AutoModel, PreTrainedModel

from superposition.runtime import derived_seed

VARIANTS = ("trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control")


def _generator(seed: int, variant: str) -> torch.Generator:
    # Each variant has its own stream, so adding a variant never changes another's weights.
    return torch.Generator().manual_seed(derived_seed(seed, variant))


def _is_embedding(name: str) -> bool:
    return name.startswith("embeddings.") or ".embeddings." in name


@torch.no_grad()
def rerandomise(model: PreTrainedModel, seed: int, keep_embeddings: bool) -> PreTrainedModel:
    """Re-sample every parameter i.i.d. N(mean, std) of its own values, in place; returns the model."""
    generator = _generator(seed, "rerandomised_no_embeddings" if keep_embeddings else "rerandomised")
    for name, parameter in model.named_parameters():
        if keep_embeddings and _is_embedding(name):
            continue
        values = parameter.detach().float()
        std = values.std().item() if values.numel() > 1 else 0.0
        sample = torch.randn(parameter.shape, generator=generator) * std + values.mean().item()
        parameter.copy_(sample.to(parameter.dtype))
    return model


@torch.no_grad()
def control_embeddings(model: PreTrainedModel, seed: int) -> PreTrainedModel:
    """Replace the input token embeddings by i.i.d. N(0, 1) vectors, in place; returns the model."""
    embedding = model.get_input_embeddings().weight
    embedding.copy_(torch.randn(embedding.shape, generator=_generator(seed, "control")).to(embedding.dtype))
    return model


def step0(model: PreTrainedModel, seed: int) -> PreTrainedModel:
    """A freshly initialised model of ``model``'s architecture (its own initialiser, seeded)."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(derived_seed(seed, "step0"))
        fresh = AutoModel.from_config(model.config)
    finally:
        torch.random.set_rng_state(state)  # leave the global stream as it was
    return fresh.to(model.device).eval()


def apply_variant(model: PreTrainedModel, variant: str, seed: int) -> PreTrainedModel:
    """The ``variant`` of a trained model (may modify ``model`` in place; returns the model to use)."""
    if variant == "trained":
        return model
    if variant == "rerandomised":
        return rerandomise(model, seed, keep_embeddings=False)
    if variant == "rerandomised_no_embeddings":
        return rerandomise(model, seed, keep_embeddings=True)
    if variant == "step0":
        return step0(model, seed)
    if variant == "control":
        return control_embeddings(model, seed)
    raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
