"""Expected compute of experiment chess_nmf from its config (superposition.cost)."""

from __future__ import annotations

from typing import Any

from superposition.cost import Cost

__all__ = ["SQUARES", "expected_cost"]

SQUARES = 64


def expected_cost(config: dict[str, Any]) -> Cost:
    """Training the residual network (6 x 3x3-conv parameters x 64 squares per position and epoch, positions =
    games x plies), its forward passes for the activations (trained and random network) and the NMF
    multiplicative updates (about 4 rows x channels x k per iteration) of every block and sweep rank. Stockfish's
    search, which labels the positions, is CPU work and not counted."""
    section = config["chess_nmf"]
    network, train = section["network"], section["train"]
    channels, blocks = network["channels"], network["blocks"]
    conv_params = blocks * 2 * 9 * channels * channels
    positions = section["positions"]["games"] * (section["positions"]["continuation_plies"]
                                                 + section["positions"]["book_max_plies"])
    flops = 6.0 * conv_params * SQUARES * positions * train["epochs"]
    held_out = section["activations"]["positions"]
    flops += 2 * 2.0 * conv_params * SQUARES * held_out
    decompose = section["decompose"]
    rows = held_out * SQUARES
    ks = [decompose["k"]] * len(decompose["blocks"]) * 2 + list(decompose["sweep_ks"]) * len(decompose["sweep_blocks"])
    flops += sum(4.0 * rows * channels * k * decompose["max_iter"] for k in ks)
    return Cost(flops, f"network training on ~{positions:,} positions, activations and {len(ks)} NMF fits")
