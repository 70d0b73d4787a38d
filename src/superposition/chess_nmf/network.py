"""The AlphaZero-style ResNet: a 3×3 convolution stem, residual blocks, a policy head and a value head.

Block (AlphaZero, Silver et al. 2018; the survey §3.2): conv 3×3 → [BN] → ReLU → conv 3×3 → [BN] → add the
block input → ReLU. The output of block b is the (batch, C, 8, 8) tensor whose 64 squares × C channels we
decompose. Policy head: conv 1×1 (C → policy_channels) → [BN] → ReLU → conv 1×1 → 73 move planes, flattened
to 4672 logits (AlphaZero uses a 3×3 convolution with C channels first; the 1×1 one is Leela's lighter
choice). Value head (AlphaZero): conv 1×1 (C → value_channels) → [BN] → ReLU → linear (64·value_channels →
value_hidden) → ReLU → linear → tanh.

Weights are stored as safetensors with the config in the metadata; nothing is ever unpickled.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from superposition.chess_nmf.config import ChessNetworkConfig
from superposition.chess_nmf.encoding import N_PLANES
from superposition.chess_nmf.store import load_tensors, read_metadata, save_tensors
from superposition.config import from_dict

__all__ = ["ChessResNet", "save_network", "load_network"]


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class _Block(nn.Module):
    def __init__(self, channels: int, batch_norm: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)
        self.norm1 = _norm(channels, batch_norm)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)
        self.norm2 = _norm(channels, batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(x + self.norm2(self.conv2(hidden)))


class ChessResNet(nn.Module):
    """AlphaZero-style network: (batch, 20, 8, 8) planes → policy logits (batch, 4672), value (batch,)."""

    def __init__(self, config: ChessNetworkConfig, in_planes: int = N_PLANES) -> None:
        super().__init__()
        self.config, self.in_planes = config, in_planes
        channels, bn = config.channels, config.batch_norm
        self.stem = nn.Sequential(nn.Conv2d(in_planes, channels, 3, padding=1, bias=not bn), _norm(channels, bn),
                                  nn.ReLU())
        self.blocks = nn.ModuleList(_Block(channels, bn) for _ in range(config.blocks))
        self.policy = nn.Sequential(nn.Conv2d(channels, config.policy_channels, 1, bias=not bn),
                                    _norm(config.policy_channels, bn), nn.ReLU(),
                                    nn.Conv2d(config.policy_channels, 73, 1))
        self.value_conv = nn.Sequential(nn.Conv2d(channels, config.value_channels, 1, bias=not bn),
                                        _norm(config.value_channels, bn), nn.ReLU())
        self.value_mlp = nn.Sequential(nn.Linear(64 * config.value_channels, config.value_hidden), nn.ReLU(),
                                       nn.Linear(config.value_hidden, 1), nn.Tanh())

    def forward(self, planes: torch.Tensor, return_blocks: bool = False):
        """Policy logits (batch, 4672) and value (batch,); with ``return_blocks`` also each block's output
        (batch, C, 8, 8)."""
        x = self.stem(planes)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        policy = self.policy(x).flatten(1)  # (batch, 73·64): index = plane·64 + square
        value = self.value_mlp(self.value_conv(x).flatten(1)).squeeze(1)
        return (policy, value, outputs) if return_blocks else (policy, value)


def save_network(network: ChessResNet, path: Path | str, provenance: dict[str, str] | None = None) -> str:
    """Weights and buffers (BN statistics) as safetensors, the config in the metadata; returns the SHA-256."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in network.state_dict().items()}
    metadata = {"config": asdict(network.config), "in_planes": network.in_planes, **(provenance or {})}
    return save_tensors(state, path, metadata)


def load_network(path: Path | str) -> ChessResNet:
    """A network saved by :func:`save_network`, in eval mode."""
    metadata = read_metadata(path)
    config = from_dict(ChessNetworkConfig, metadata["config"])
    network = ChessResNet(config, int(metadata["in_planes"]))
    network.load_state_dict(load_tensors(path))
    return network.eval()
