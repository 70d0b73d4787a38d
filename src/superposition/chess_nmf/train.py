"""Stage `train_network`: supervised training on the Stockfish labels, and the randomly initialised control.

Loss = cross-entropy of the policy logits against Stockfish's best move + value_weight · MSE(value, v), with
AdamW and a cosine learning-rate decay. AlphaZero instead trains on its own self-play (MCTS visit counts and
game outcomes); here Stockfish's choices stand in for both (see docs/experiments/chess_nmf.md).

Evaluation on the test split (games never seen in training), for the trained network and for a randomly
initialised copy of the same architecture (the control of every later comparison): policy top-1 agreement
with Stockfish among the legal moves (illegal logits masked, as AlphaZero's search does) and value MSE.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from superposition.chess_nmf.config import ChessNetworkConfig, ChessTrainConfig
from superposition.chess_nmf.encoding import encode_boards, legal_move_mask
from superposition.chess_nmf.labels import read_labels
from superposition.chess_nmf.network import ChessResNet, save_network
from superposition.chess_nmf.positions import read_positions
from superposition.chess_nmf.store import write_json
from superposition.io import read_json
from superposition.runtime import make_generator, resolve_device

__all__ = ["init_network", "fit", "evaluate", "train_network"]

log = logging.getLogger(__name__)


def init_network(config: ChessNetworkConfig, seed: int) -> ChessResNet:
    """A freshly initialised network whose weights depend only on ``seed`` (PyTorch's default init)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ChessResNet(config)


def fit(network: ChessResNet, planes: torch.Tensor, best_move: torch.Tensor, value: torch.Tensor,
        config: ChessTrainConfig, device: torch.device, progress: bool = True) -> list[dict[str, float]]:
    """Train in place on planes (n, 20, 8, 8), best_move (n,), value (n,); returns the loss history."""
    network.to(device).train()
    if device.type == "cpu":
        network.to(memory_format=torch.channels_last)  # 2–3× faster convolutions on CPU (oneDNN)
    n = planes.shape[0]
    steps_per_epoch = max(1, math.ceil(n / config.batch_size))
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, round(config.warmup_fraction * total))

    def factor(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    generator = make_generator(config.data_seed)
    history, step, start = [], 0, time.perf_counter()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for first in range(0, n, config.batch_size):
            index = order[first:first + config.batch_size]
            x = planes[index].float().to(device)
            if device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            policy, predicted = network(x)
            policy_loss = F.cross_entropy(policy, best_move[index].to(device))
            value_loss = F.mse_loss(predicted, value[index].to(device))
            loss = policy_loss + config.value_weight * value_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % config.log_every == 0 or step == total:
                history.append({"step": step, "epoch": epoch, "policy_loss": policy_loss.item(),
                                "value_loss": value_loss.item()})  # timings go to the log, not the artefact
                if progress:
                    log.info("step %d/%d policy %.3f value %.4f (%.0f positions/s)", step, total, policy_loss.item(),
                             value_loss.item(), step * config.batch_size / (time.perf_counter() - start))
    return history


@torch.inference_mode()
def evaluate(network: ChessResNet, planes: torch.Tensor, best_move: torch.Tensor, value: torch.Tensor,
             legal: torch.Tensor, device: torch.device, batch_size: int = 1024) -> dict[str, float]:
    """Policy top-1 agreement among legal moves (legal: (n, 4672) bool) and value MSE on (n, …) inputs."""
    network.to(device).eval()
    hits, squared, n = 0, 0.0, planes.shape[0]
    for first in range(0, n, batch_size):
        x = planes[first:first + batch_size].float().to(device)
        policy, predicted = network(x)
        policy = policy.masked_fill(~legal[first:first + batch_size].to(device), float("-inf"))
        hits += int((policy.argmax(1).cpu() == best_move[first:first + batch_size]).sum())
        squared += float(((predicted.cpu() - value[first:first + batch_size]) ** 2).sum())
    return {"policy_top1": hits / max(n, 1), "value_mse": squared / max(n, 1), "positions": n}


def train_network(positions_dir: Path | str, labels_dir: Path | str, network_config: ChessNetworkConfig,
                  config: ChessTrainConfig, device: str, trained_path: Path | str, random_path: Path | str,
                  metrics_path: Path | str, progress: bool = True) -> dict[str, Any]:
    """Stage: train on the train split, evaluate trained and random networks on the test split, save all."""
    device = resolve_device(device)
    rows = read_positions(positions_dir)
    positions_sha = read_json(Path(positions_dir) / "manifest.json")["positions_sha256"]
    labels = read_labels(labels_dir, positions_sha)
    train = torch.tensor([i for i, r in enumerate(rows) if r["split"] == "train"], dtype=torch.int64)
    test = torch.tensor([i for i, r in enumerate(rows) if r["split"] == "test"], dtype=torch.int64)
    fens = [r["fen"] for r in rows]
    planes = encode_boards(fens).to(torch.float16)  # halves memory at paper scale; every plane value is exact
    network = init_network(network_config, config.seed)
    random_network = init_network(network_config, config.random_seed)
    start = time.perf_counter()
    history = fit(network, planes[train], labels["best_move"][train], labels["value"][train], config, device,
                  progress)
    log.info("trained in %.1f s", time.perf_counter() - start)
    test_fens = [fens[i] for i in test.tolist()]
    legal = legal_move_mask(test_fens)
    args = (planes[test], labels["best_move"][test], labels["value"][test], legal, device)
    # The random control's BN layers use their initial running statistics (mean 0, variance 1), as a freshly
    # built network in eval mode would.
    metrics = {
        "trained": evaluate(network, *args), "random": evaluate(random_network, *args),
        "baseline_value_mse_train_mean": float(((labels["value"][test] - labels["value"][train].mean()) ** 2).mean()),
        "chance_top1": float((1.0 / legal.sum(1).float()).mean()),
        "train_positions": int(train.numel()), "test_positions": int(test.numel()), "history": history,
        "network": asdict(network_config), "train": asdict(config), "positions_sha256": positions_sha,
    }
    provenance = {"positions_sha256": positions_sha}
    metrics["trained"]["sha256"] = save_network(network.to("cpu").to(memory_format=torch.contiguous_format),
                                                 trained_path, {**provenance, "variant": "trained"})
    metrics["random"]["sha256"] = save_network(random_network.to("cpu"), random_path,
                                               {**provenance, "variant": "random"})
    write_json(metrics_path, metrics)
    return metrics
