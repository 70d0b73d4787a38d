"""Expected compute of a stage, from its config: what a tier will cost before it runs.

Each stage of the manifest may name a function ``cost: <module>.<function>`` taking the whole merged config
(a dict, as Snakemake holds it) and returning a :class:`Cost`: the floating-point operations of its dominant
matrix products, counted with the usual rules (a dense product of (a, b) by (b, c) is 2abc FLOP; training a
layer costs 6 x parameters x examples: forward 2, backward 4). Memory traffic, data generation, Python overhead
and the chess engine's search are not counted, so small tiers run slower than their FLOPs suggest. GPU hours
assume :data:`GPU_FLOPS`, a sustained fp32 throughput, not a measurement.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Cost", "GPU_FLOPS", "MODEL_SIZES", "ModelSize", "sae_training_flops", "transformer_forward_flops",
           "stage_cost_function", "stage_costs"]

# Sustained fp32 matmul throughput assumed for GPU hours: 40 TFLOP/s, about 60 % of an H100's 67 TFLOP/s fp32
# peak (the library trains in fp32 without TF32). Small batched products reach far less: a lower bound on time.
GPU_FLOPS = 40e12


@dataclass(frozen=True)
class Cost:
    """Expected floating-point operations of a stage, and what they count (one line)."""

    flops: float
    what: str

    @property
    def gpu_hours(self) -> float:
        """Hours at :data:`GPU_FLOPS`."""
        return self.flops / GPU_FLOPS / 3600.0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.flops + other.flops, "; ".join(part for part in (self.what, other.what) if part))


@dataclass(frozen=True)
class ModelSize:
    """Sizes of a language model that set its cost: parameters (without embeddings), width, MLP width, layers,
    vocabulary."""

    params: float
    d_model: int
    d_mlp: int
    layers: int
    vocab: int


# The models the configs name (published sizes); tiny_bert is the smoke tier's local stand-in.
MODEL_SIZES = {
    "minilm_l3": ModelSize(5.3e6, 384, 1536, 3, 30522),
    "minilm_l6": ModelSize(10.6e6, 384, 1536, 6, 30522),
    "mpnet": ModelSize(85e6, 768, 3072, 12, 30527),
    "bert_tiny": ModelSize(0.4e6, 128, 512, 2, 30522),
    "bert_mini": ModelSize(3.2e6, 256, 1024, 4, 30522),
    "bert_small": ModelSize(12.6e6, 512, 2048, 4, 30522),
    "bert_medium": ModelSize(25.2e6, 512, 2048, 8, 30522),
    "pythia_70m_step0": ModelSize(19e6, 512, 2048, 6, 50304),
    "pythia_70m": ModelSize(19e6, 512, 2048, 6, 50304),
    "pythia_160m": ModelSize(85e6, 768, 3072, 12, 50304),
    "pythia_410m": ModelSize(302e6, 1024, 4096, 24, 50304),
    "gpt2": ModelSize(85e6, 768, 3072, 12, 50257),
    "tiny_bert": ModelSize(0.05e6, 64, 128, 2, 1000),
}


def model_size(name: str) -> ModelSize:
    """The sizes of model ``name`` (KeyError naming the known models otherwise)."""
    if name not in MODEL_SIZES:
        raise KeyError(f"no size recorded for model {name!r}; known: {sorted(MODEL_SIZES)} "
                       "(add it to superposition.cost.MODEL_SIZES)")
    return MODEL_SIZES[name]


def sae_training_flops(d: int, latents: float, examples: float) -> float:
    """Training SAEs with ``latents`` latents in all on inputs of width ``d``: 6 x parameters (2 d latents:
    encoder and decoder) x examples."""
    return 6.0 * 2.0 * d * latents * examples


def transformer_forward_flops(size: ModelSize, tokens: float) -> float:
    """A forward pass over ``tokens`` tokens: 2 x parameters per token (attention over short sequences
    neglected)."""
    return 2.0 * size.params * tokens


def stage_cost_function(path: str) -> Callable[[dict[str, Any]], Cost]:
    """Import the cost function a manifest entry names (``package.module.function``)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def stage_costs(cost_functions: dict[str, str], config: dict[str, Any],
                paper_config: dict[str, Any]) -> dict[str, tuple[Cost, Cost]]:
    """stage -> (cost at ``config``, cost at ``paper_config``) for every stage that names a cost function; a
    function that fails (a model without a recorded size) gives NaN FLOP and the reason."""
    costs = {}
    for stage, path in cost_functions.items():
        function = stage_cost_function(path)
        pair = []
        for tier in (config, paper_config):
            try:
                pair.append(function(tier))
            except (KeyError, ValueError, TypeError) as error:
                pair.append(Cost(math.nan, f"not estimated: {error}"))
        costs[stage] = (pair[0], pair[1])
    return costs
