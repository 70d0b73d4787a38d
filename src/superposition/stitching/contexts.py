"""Top-activating WordNet contexts of latents: the text the report shows beside each decomposition.

Held-out tokens come whole from the held-out shards of the cache (activations, token ids and the index of the
sentence each came from). A context is the activating token with up to ``window`` earlier tokens of its sentence,
WordPiece pieces joined, the activating token in [[double brackets]].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from superposition.lm.activations import ActivationReader

__all__ = ["HeldOutTokens", "load_held_out_tokens", "top_tokens", "render_context"]


@dataclass(frozen=True)
class HeldOutTokens:
    """activations (N, h) float32 (scaled as in training), token_ids (N,), sequence (N,) sentence index."""

    activations: torch.Tensor
    token_ids: torch.Tensor
    sequence: torch.Tensor


def load_held_out_tokens(activations: Path, shards: list[int], scale: float) -> HeldOutTokens:
    """Every token of ``shards`` of the cached site folder ``activations``, in cache order."""
    reader = ActivationReader(activations)
    return HeldOutTokens(torch.cat([reader.shard(i).float() for i in shards]) * scale,
                         torch.cat([reader.shard(i, "token_ids").long() for i in shards]),
                         torch.cat([reader.shard(i, "sequence_index").long() for i in shards]))


def top_tokens(values: torch.Tensor, count: int) -> list[int]:
    """Positions of the ``count`` largest positive values of (N,), largest first, ties by position."""
    positive = int((values > 0).sum())
    if not positive:
        return []
    top = torch.topk(values, min(count, positive))
    return [index for _, index in sorted(zip(top.values.tolist(), top.indices.tolist()), key=lambda p: (-p[0], p[1]))]


def _join(pieces: list[str]) -> str:
    text = ""
    for piece in pieces:
        if piece.startswith("##"):
            text += piece[2:]
        elif piece.startswith("Ġ") or piece.startswith("▁"):  # GPT-2 / SentencePiece word starts
            text += " " + piece[1:]
        else:
            text += ("" if not text else " ") + piece
    return text


def render_context(tokens: HeldOutTokens, position: int, window: int, convert) -> str:
    """The activating token at ``position`` with up to ``window`` earlier tokens of its sentence; ``convert`` maps
    a list of token ids to token strings (a tokenizer's convert_ids_to_tokens)."""
    start = position
    while start > 0 and position - start < window and tokens.sequence[start - 1] == tokens.sequence[position]:
        start -= 1
    before = convert(tokens.token_ids[start:position].tolist())
    target = convert([int(tokens.token_ids[position])])
    return (_join(before) + " [[" + _join(target).strip() + "]]").strip()
