"""Activation sites of encoder transformers and the forward hooks that record them.

Site names: ``embeddings`` (output of the embedding layer: token + position (+ type) embeddings after its
LayerNorm), ``resid.<L>`` (the residual stream after layer L, what ``output_hidden_states`` returns as
``hidden_states[L + 1]``), ``mlp.<L>`` (the MLP hidden activations of layer L after the nonlinearity).
Layers count from 0. Supported architectures (``transformers`` base models): BERT and MPNet (encoders), and
GPT-NeoX (Pythia) and GPT-2 (decoders), for which ``embeddings`` is the token (+ position) embedding sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from superposition.lm.architecture import SITE_PATTERN

_SITE = SITE_PATTERN


class SiteError(ValueError):
    """An unknown site or layer index."""


def _layers(model: nn.Module) -> nn.ModuleList:
    kind = model.config.model_type
    if kind in ("bert", "mpnet"):
        return model.encoder.layer
    if kind == "gpt_neox":
        return model.layers
    if kind == "gpt2":
        return model.h
    raise SiteError(f"unsupported architecture {kind!r}: sites are defined for bert, mpnet, gpt_neox and gpt2")


def _embeddings(model: nn.Module) -> nn.Module:
    kind = model.config.model_type
    if kind in ("bert", "mpnet"):
        return model.embeddings
    # decoders: the module right after the embedding sum (GPT-NeoX's dropout; GPT-2's dropout after wte + wpe)
    return model.emb_dropout if kind == "gpt_neox" else model.drop


def _mlp_hidden(block: nn.Module, kind: str) -> nn.Module:
    return block.intermediate if kind in ("bert", "mpnet") else block.mlp.act


def n_layers(model: nn.Module) -> int:
    """Number of transformer layers."""
    return len(_layers(model))


def valid_sites(model: nn.Module) -> list[str]:
    """Every site name that ``model`` has."""
    layers = range(n_layers(model))
    return ["embeddings", *(f"resid.{i}" for i in layers), *(f"mlp.{i}" for i in layers)]


def site_module(model: nn.Module, site: str) -> nn.Module:
    """The module whose forward output is the activation at ``site``."""
    match = _SITE.match(site)
    last = n_layers(model) - 1
    if match is None:
        raise SiteError(f"unknown site {site!r}: sites are 'embeddings', 'resid.<layer>' and 'mlp.<layer>' with "
                        f"layers 0–{last}")
    if site == "embeddings":
        return _embeddings(model)
    layer = int(match.group(2) or match.group(3))
    if layer > last:
        raise SiteError(f"unknown site {site!r}: the model has layers 0–{last}; valid sites: "
                        f"{', '.join(valid_sites(model))}")
    block = _layers(model)[layer]
    return block if site.startswith("resid") else _mlp_hidden(block, model.config.model_type)


def site_dim(model: nn.Module, site: str) -> int:
    """Width of the activations at ``site``."""
    site_module(model, site)  # validates
    config = model.config
    if not site.startswith("mlp"):
        return config.hidden_size
    if config.model_type == "gpt2":
        return config.n_inner or 4 * config.hidden_size
    return config.intermediate_size


@contextmanager
def record_sites(model: nn.Module, sites: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, every forward pass stores each site's output (batch, seq, d) in the yielded dict.

    Hooks are registered only on the requested sites and removed in ``finally``, even after an error.
    """
    modules = {site: site_module(model, site) for site in sites}
    captured: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(site: str):
        def hook(_module: nn.Module, _inputs: tuple, output) -> None:
            # Layers return tuples (hidden states first); embeddings and MLP return a tensor.
            captured[site] = (output[0] if isinstance(output, tuple) else output).detach()
        return hook

    try:
        for site, module in modules.items():
            handles.append(module.register_forward_hook(hook_for(site)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()
