"""Null-model variants of a trained transformer (Heap, Lawson, Farnik & Aitchison, "Automated interpretability
metrics do not distinguish trained and random transformers", §3), each selected by name so that any experiment
can request activations of any variant.

- ``trained``: the model as loaded.
- ``rerandomised``: every parameter tensor (weights, biases, LayerNorm parameters, embeddings) re-sampled
  i.i.d. Gaussian with that tensor's own mean and standard deviation ("re-randomized incl. embeddings").
  The paper says "all the model parameters"; its authors' final code keeps LayerNorm parameters trained. We follow
  the text (a LayerNorm gain of mean ≈ 1 and small spread barely changes either way).
- ``rerandomised_no_embeddings``: the same, except the embedding module's parameters (token, position and type
  embeddings and the embedding LayerNorm), which stay trained ("excl. embeddings"; BERT has no unembedding).
- ``step0``: the weights at initialisation. Where the source names them (``step0``: Pythia's ``revision="step0"``
  on the hub, or a local folder) they are loaded; otherwise (no step-0 checkpoint exists offline, e.g. MiniLM) a
  fresh model from ``from_config`` with the architecture's own initializer stands in.
- ``control``: the paper's control. The trained model, with the output of its input token-embedding layer replaced
  at inference by i.i.d. N(0, 1) noise drawn for each token occurrence, so no token identity reaches the network
  (position and type embeddings and the embedding LayerNorm stay trained). Row p of sentence i's noise comes from a
  generator seeded by (seed, i): the same corpus gives the same activations whatever the batching, so caches stay
  reproducible and content-addressed.
- ``random_embedding_table``: the null model this project used as "control" before: the trained model with its
  token-embedding *matrix* replaced once by i.i.d. N(0, 1) rows, i.e. one fixed random vector per vocabulary entry.
  Token identity survives (a random lookup table), so it is a different, weaker null model than the paper's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModel, PreTrainedModel

from superposition.lm.config import ModelSourceConfig
from superposition.lm.models import LoadedModel, load_model
from superposition.runtime import derived_seed

__all__ = ["VARIANTS", "VariantModel", "apply_variant", "load_variant", "rerandomise", "TokenNoise", "step0_source"]

VARIANTS = ("trained", "rerandomised", "rerandomised_no_embeddings", "step0", "control", "random_embedding_table")


def _generator(seed: int, variant: str) -> torch.Generator:
    # Each variant has its own stream, so adding a variant never changes another's weights.
    return torch.Generator().manual_seed(derived_seed(seed, variant))


def _is_embedding(name: str) -> bool:
    return name.startswith("embeddings.") or ".embeddings." in name or name.startswith(("embed_in.", "wte.", "wpe."))


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
def random_embedding_table(model: PreTrainedModel, seed: int) -> PreTrainedModel:
    """Replace the input token-embedding matrix by i.i.d. N(0, 1) rows (one per vocabulary entry), in place."""
    embedding = model.get_input_embeddings().weight
    embedding.copy_(torch.randn(embedding.shape, generator=_generator(seed, "random_embedding_table"))
                    .to(embedding.dtype))
    return model


class TokenNoise:
    """The control's input: a forward hook that replaces the token-embedding layer's output (batch, seq, d) by
    N(0, 1) noise, row p of sentence i drawn from a generator seeded by (seed, i). Call :meth:`set_sentences`
    with the batch's sentence indices (in row order) before each forward pass."""

    def __init__(self, model: PreTrainedModel, seed: int) -> None:
        self.seed = seed
        self.sentences: list[int] | None = None
        self.handle = model.get_input_embeddings().register_forward_hook(self._replace)

    def set_sentences(self, indices: Sequence[int]) -> None:
        self.sentences = [int(i) for i in indices]

    def noise(self, sentence: int, length: int, dim: int) -> torch.Tensor:
        """The (length, dim) noise of ``sentence``; its first rows do not depend on ``length``."""
        generator = torch.Generator().manual_seed(derived_seed(self.seed, "control", sentence))
        rows = [torch.randn(dim, generator=generator) for _ in range(length)]
        return torch.stack(rows) if rows else torch.zeros(0, dim)

    def _replace(self, _module: torch.nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if self.sentences is None or len(self.sentences) != output.shape[0]:
            raise RuntimeError("the control variant needs the batch's sentence indices before each forward pass "
                               "(TokenNoise.set_sentences)")
        batch, length, dim = output.shape
        noise = torch.stack([self.noise(sentence, length, dim) for sentence in self.sentences])
        self.sentences = None  # one batch per call: a stale list would silently repeat noise
        return noise.to(device=output.device, dtype=output.dtype)


@dataclass
class VariantModel:
    """A model variant ready for extraction, and what must happen before each batch (the control's noise is
    keyed by the batch's sentence indices; None for the other variants)."""

    loaded: LoadedModel
    before_batch: Callable[[Sequence[int]], None] | None = None


def step0(model: PreTrainedModel, seed: int) -> PreTrainedModel:
    """A freshly initialised model of ``model``'s architecture (its own initializer, seeded)."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(derived_seed(seed, "step0"))
        fresh = AutoModel.from_config(model.config)
    finally:
        torch.random.set_rng_state(state)  # leave the global stream as it was
    return fresh.to(model.device).eval()


def apply_variant(model: PreTrainedModel, variant: str, seed: int) -> PreTrainedModel:
    """The weights of ``variant`` of a trained model (may modify ``model`` in place; returns the model to use).

    ``control`` changes no weight: its noise hook is attached by :func:`load_variant`.
    """
    if variant in ("trained", "control"):
        return model
    if variant == "rerandomised":
        return rerandomise(model, seed, keep_embeddings=False)
    if variant == "rerandomised_no_embeddings":
        return rerandomise(model, seed, keep_embeddings=True)
    if variant == "step0":
        return step0(model, seed)
    if variant == "random_embedding_table":
        return random_embedding_table(model, seed)
    raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def step0_source(source: ModelSourceConfig) -> ModelSourceConfig | None:
    """The source of the weights at initialisation, where the model's source names them (else None)."""
    if not source.step0:
        return None
    if source.kind == "hub":
        return dataclasses.replace(source, revision=source.step0, weights_sha256=None)
    if source.kind == "folder":
        return dataclasses.replace(source, path=source.step0, weights_sha256=None)
    raise ValueError(f"a step0 checkpoint is supported for hub and folder sources, not {source.kind!r}")


def load_variant(name: str, variant: str, models: dict[str, ModelSourceConfig], model_dir: Path | None,
                 seed: int, device: str = "cpu") -> VariantModel:
    """Load model ``name`` of the registry as ``variant`` (see the module docstring for each)."""
    if variant == "step0" and step0_source(models[name]) is not None:
        return VariantModel(load_model(name, {**models, name: step0_source(models[name])}, model_dir, device))
    loaded = load_model(name, models, model_dir, device)
    loaded.model = apply_variant(loaded.model, variant, seed)
    if variant == "control":
        return VariantModel(loaded, TokenNoise(loaded.model, seed).set_sentences)
    return VariantModel(loaded)
