"""Stage `make_activations`: every block's output on held-out positions, as (positions·64, C) activation caches.

One folder per block, ``<root>/<network>/block<b>/``, written with the LM experiments' ShardWriter and
readable by :class:`superposition.lm.activations.ActivationReader`. Row ``p·64 + s`` is square ``s`` (side-to-
move frame, a1 = 0) of held-out position ``p``; ``token_ids`` holds the square and ``sequence_index`` the
position. The manifest has the reader's keys (d, token_count, shards) plus provenance: the network's SHA-256,
the positions' SHA-256 (of the held-out FEN list), the block, the dtype.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from superposition.chess_nmf.encoding import encode_boards
from superposition.chess_nmf.store import write_json
from superposition.io import sha256_file
from superposition.lm.activations import DTYPES, ShardWriter

__all__ = ["fens_sha256", "block_activations", "write_activation_caches", "MANIFEST_VERSION"]

MANIFEST_VERSION = 1


def fens_sha256(fens: list[str]) -> str:
    """SHA-256 of a FEN list (one per line): names the exact positions behind a cache."""
    return hashlib.sha256("\n".join(fens).encode()).hexdigest()


def block_activations(block_output: torch.Tensor) -> torch.Tensor:
    """(batch, C, 8, 8) block output → (batch·64, C) rows, square-major within each position."""
    return block_output.permute(0, 2, 3, 1).reshape(-1, block_output.shape[1])  # (batch, rank, file, C)


def write_activation_caches(forward_blocks, fens: list[str], n_blocks: int, d: int, output_dir: Path | str,
                            provenance: dict[str, Any], dtype: str, shard_rows: int, batch_size: int,
                            encode=encode_boards) -> dict[int, dict[str, Any]]:
    """Run ``forward_blocks(planes) -> [block outputs (batch, C, 8, 8)]`` over ``fens`` in batches and cache
    every block under ``output_dir/block<b>/``; returns the manifests by block."""
    output_dir = Path(output_dir)
    writers = [ShardWriter(output_dir / f"block{b}", DTYPES[dtype], shard_rows,
                           f"chess network {provenance.get('network')}, block {b}") for b in range(n_blocks)]
    squares = torch.arange(64, dtype=torch.int32)
    with torch.inference_mode():
        for first in range(0, len(fens), batch_size):
            batch = fens[first:first + batch_size]
            outputs = forward_blocks(encode(batch))
            positions = torch.arange(first, first + len(batch)).repeat_interleave(64)
            for writer, output in zip(writers, outputs):
                writer.add(block_activations(output.float().cpu()), squares.repeat(len(batch)), positions)
    manifests = {}
    for b, writer in enumerate(writers):
        writer.close()
        manifest = {"version": MANIFEST_VERSION, **provenance, "block": b, "d": d, "dtype": dtype,
                    "positions": len(fens), "positions_sha256": fens_sha256(fens),
                    "token_count": sum(s["tokens"] for s in writer.shards), "shards": writer.shards,
                    "rows": "row = position * 64 + square; square in the side-to-move frame (a1 = 0, h8 = 63)"}
        write_json(output_dir / f"block{b}" / "manifest.json", manifest)
        manifests[b] = manifest
    return manifests


def make_activations(network_path: Path | str, fens: list[str], network_name: str, output_dir: Path | str,
                     dtype: str, shard_rows: int, batch_size: int, device: str = "cpu") -> dict[int, dict[str, Any]]:
    """Stage: cache every block of the saved network ``network_path`` on ``fens`` (held-out positions)."""
    from superposition.chess_nmf.network import load_network
    from superposition.runtime import resolve_device

    torch_device = resolve_device(device)
    network = load_network(network_path).to(torch_device)

    def forward_blocks(planes: torch.Tensor) -> list[torch.Tensor]:
        return network(planes.to(torch_device), return_blocks=True)[2]

    provenance = {"network": network_name, "network_sha256": sha256_file(network_path),
                  "source": "chess_nmf AlphaZero-style ResNet"}
    return write_activation_caches(forward_blocks, fens, network.config.blocks, network.config.channels, output_dir,
                                   provenance, dtype, shard_rows, batch_size)
