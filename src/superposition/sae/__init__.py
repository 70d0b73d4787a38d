"""Sparse autoencoder architectures behind one interface (:class:`~superposition.sae.base.Architecture`).

| name | paper | sparsity value | module |
|---|---|---|---|
| ``relu_l1`` | Sharkey, Braun & Millidge (2022) | L1 coefficient α | :mod:`superposition.sae.relu_l1` |
| ``topk`` | Gao et al. (2024) | k | :mod:`superposition.sae.topk` (AuxK: :mod:`~superposition.sae.auxk`) |
| ``batchtopk`` | Bussmann, Leask & Nanda (2024) | k (mean) | :mod:`superposition.sae.batchtopk` |
| ``jumprelu`` | Rajamanoharan et al. (2024) | L0 coefficient λ | :mod:`superposition.sae.jumprelu` |

The sweep trainer (:mod:`superposition.sweep`) trains grids of any of them; :mod:`superposition.sae.saelens`
writes each in SAELens's on-disk layout.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from superposition.sae.base import Architecture

__all__ = ["ARCHITECTURES", "ARCHITECTURE_NAMES", "Architecture", "AdamSettings", "ArchitectureOptions", "Losses",
           "SAEStack", "StepContext", "StepResult", "get_architecture", "model_seed"]

ARCHITECTURE_NAMES = ("relu_l1", "topk", "batchtopk", "jumprelu")
_MODULES = {"relu_l1": "RELU_L1", "topk": "TOPK", "batchtopk": "BATCHTOPK", "jumprelu": "JUMPRELU"}
# Names served lazily (PEP 562): the config layer imports superposition.sae.options at Snakefile parse time,
# which must not import torch.
_LAZY = {"Architecture": "base", "Losses": "base", "SAEStack": "base", "StepContext": "base", "StepResult": "base",
         "model_seed": "base", "AdamSettings": "options", "ArchitectureOptions": "options"}


def get_architecture(name: str) -> "Architecture":
    """The architecture registered under ``name``; ValueError naming the choices otherwise."""
    # Imported here, not at the top (torch); written out so that code fingerprints (provenance) see them.
    from superposition.sae import batchtopk, jumprelu, relu_l1, topk

    modules = {"relu_l1": relu_l1, "topk": topk, "batchtopk": batchtopk, "jumprelu": jumprelu}
    if name not in modules:
        raise ValueError(f"unknown SAE architecture {name!r}: choose one of {', '.join(ARCHITECTURE_NAMES)}")
    return getattr(modules[name], _MODULES[name])


def __getattr__(name: str) -> Any:
    if name == "ARCHITECTURES":
        return {arch: get_architecture(arch) for arch in ARCHITECTURE_NAMES}
    if name in _LAZY:
        return getattr(importlib.import_module(f"superposition.sae.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'superposition.sae' has no attribute {name!r}")
