"""Benchmark: training the toy models of superposition as one batched stack vs a loop over models.

Run by hand (`make benchmark`); numbers go in benchmarks/README.md. Every figure comes from one run on one machine and
is compared as a ratio. Each experiment's instances (as built by the default config) are trained for the
same number of steps on the same data three ways:
  batched        all instances in one stack (`train_toy_models`, what the workflow does);
  loop-fast      one instance at a time with the same hand-written step (isolates batching);
  loop-autograd  one instance at a time as a plain `torch.nn.Module` with autograd and `torch.optim.AdamW`
                 (what a straightforward implementation does).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import yaml

from superposition.tms.experiments import PARTS, build_stack
from superposition.tms.model import ToyModelStack, sample_features, train_toy_models
from superposition.workflow_config import load_workflow_config


def time_batched(stack: ToyModelStack, steps: int, batch_size: int) -> float:
    """Seconds per step for the whole stack (after a short warm-up run)."""
    train_toy_models(stack, 5, batch_size, 1e-3, 0.01, 0, progress=False)
    start = time.perf_counter()
    train_toy_models(stack, steps, batch_size, 1e-3, 0.01, 0, progress=False)
    return (time.perf_counter() - start) / steps


def time_loop_fast(stack: ToyModelStack, steps: int, batch_size: int) -> float:
    """Seconds per step training each instance alone with the same trainer (a stack of one)."""
    total = 0.0
    for key in stack.keys:
        single = stack.select([key])
        train_toy_models(single, 3, batch_size, 1e-3, 0.01, 0, progress=False)
        start = time.perf_counter()
        train_toy_models(single, steps, batch_size, 1e-3, 0.01, 0, progress=False)
        total += (time.perf_counter() - start) / steps
    return total


class PlainToyModel(torch.nn.Module):
    """One toy model written the usual way: a parameter W (n, m), a bias, autograd."""

    def __init__(self, stack: ToyModelStack) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(stack.w[0].clone())
        self.b = torch.nn.Parameter(stack.b[0].clone())
        self.importance, self.relu = stack.importance[0], bool(stack.relu[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = (x @ self.w) @ self.w.T + self.b
        output = torch.relu(output) if self.relu else output
        return (((x - output) ** 2) * self.importance).sum(dim=-1).mean()


def time_loop_autograd(stack: ToyModelStack, steps: int, batch_size: int) -> float:
    """Seconds per step training each instance alone as a plain autograd module."""
    total = 0.0
    for key in stack.keys:
        single = stack.select([key])
        model = PlainToyModel(single)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        generator = torch.Generator().manual_seed(0)
        for step in range(steps + 3):
            if step == 3:
                start = time.perf_counter()
            x = sample_features(single.feature_probability, batch_size, generator)[0]
            optimizer.zero_grad(set_to_none=True)
            model(x).backward()
            optimizer.step()
        total += (time.perf_counter() - start) / steps
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per measurement")
    parser.add_argument("--config", default="config.yaml", help="workflow config whose tms parts are timed")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    with open(args.config, encoding="utf-8") as handle:
        config = load_workflow_config(yaml.safe_load(handle)).tms
    batch_size = config.train.batch_size
    results: dict[str, object] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                                  "batch_size": batch_size, "steps": args.steps}
    for part in PARTS:
        stack = build_stack(part, getattr(config, part), seed=0)
        batched = time_batched(stack, args.steps, batch_size)
        loop_fast = time_loop_fast(stack, args.steps, batch_size)
        loop_autograd = time_loop_autograd(stack, args.steps, batch_size)
        results[part] = {
            "instances": stack.n_instances, "shape": f"n={stack.w.shape[1]}, m={stack.w.shape[2]}",
            "batched_ms_per_step": round(batched * 1e3, 2),
            "loop_fast_ms_per_step": round(loop_fast * 1e3, 2), "speedup_vs_loop_fast": round(loop_fast / batched, 1),
            "loop_autograd_ms_per_step": round(loop_autograd * 1e3, 2),
            "speedup_vs_loop_autograd": round(loop_autograd / batched, 1),
        }
        print(part, json.dumps(results[part]), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
