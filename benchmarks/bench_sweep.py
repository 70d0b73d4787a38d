"""Benchmark: the batched sweep trainer against this machine's matmul peak and a one-model-at-a-time loop.

Run by hand (`make benchmark`); numbers go in benchmarks/README.md. All figures come from one run on one machine and
are compared as ratios. FLOPs count the five matmuls of an SAE training step (encoder forward and weight
gradient, decoder forward, decoder weight and input gradients): 10 · batch · h · J per model and step;
elementwise work and data generation are not counted but are inside the measured times.

Baselines, each training every model of the same grid for the same number of steps on the same data:
  loop-fast      one model at a time with the library's own hand-written step (isolates batching);
  loop-autograd  one model at a time as a plain `torch.nn.Module` with autograd and `torch.optim.Adam`
                 (what a straightforward implementation does).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from superposition.sae import init_sae, model_seed
from superposition.sweep import SweepGrid, train_sweep
from superposition.toy_data import ToyDataGenerator

DEFAULT_L1 = (0.01, 0.0316227766, 0.1, 0.177827941, 0.316227766, 1.0)
DEFAULT_RATIOS = (0.5, 1.0, 2.0, 4.0)


def matmul_peak(size: int = 2048, seconds: float = 3.0) -> float:
    """Best GFLOP/s of a dense fp32 (size × size) matmul over ``seconds``."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def batches(generator: ToyDataGenerator, batch_size: int, seed: int):
    rng = torch.Generator().manual_seed(seed)
    while True:
        yield generator.sample(batch_size, rng)


def time_batched(generator, grid, steps, batch_size) -> float:
    """Seconds per step of the whole grid with the batched trainer (after a warm-up run)."""
    train_sweep(batches(generator, batch_size, 0), generator.dim, grid, 5, 1e-3, 0, progress=False)
    start = time.perf_counter()
    train_sweep(batches(generator, batch_size, 0), generator.dim, grid, steps, 1e-3, 0, progress=False)
    return (time.perf_counter() - start) / steps


def time_loop_fast(generator, grid, steps, batch_size) -> float:
    """Seconds per grid step training each model alone with the same trainer (grid of one)."""
    total = 0.0
    for size in grid.dict_sizes:
        for alpha in grid.l1_coefficients:
            single = SweepGrid((alpha,), (size,))
            train_sweep(batches(generator, batch_size, 0), generator.dim, single, 3, 1e-3, 0, progress=False)
            start = time.perf_counter()
            train_sweep(batches(generator, batch_size, 0), generator.dim, single, steps, 1e-3, 0, progress=False)
            total += (time.perf_counter() - start) / steps
    return total


class PlainSAE(torch.nn.Module):
    """The report's SAE written the usual way: nn.Linear encoder, normalised decoder, autograd."""

    def __init__(self, dim: int, size: int, alpha: float, seed: int) -> None:
        super().__init__()
        w_enc, b_enc, w_dec = init_sae(dim, size, model_seed(seed, size, alpha))
        self.encoder = torch.nn.Linear(dim, size)
        self.encoder.weight.data.copy_(w_enc)
        self.encoder.bias.data.copy_(b_enc)
        self.decoder = torch.nn.Parameter(w_dec)
        self.alpha, self.size = alpha, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = torch.relu(self.encoder(x))
        decoder = self.decoder / self.decoder.norm(dim=1, keepdim=True)
        reconstruction = ((codes @ decoder - x) ** 2).mean()
        return reconstruction + self.alpha / self.size * codes.abs().sum(dim=1).mean()


def time_loop_autograd(generator, grid, steps, batch_size) -> float:
    """Seconds per grid step training each model alone as a plain autograd module."""
    total = 0.0
    for size in grid.dict_sizes:
        for alpha in grid.l1_coefficients:
            model = PlainSAE(generator.dim, size, alpha, 0)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            stream = batches(generator, batch_size, 0)
            for step in range(steps + 3):
                if step == 3:
                    start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                model(next(stream)).backward()
                optimizer.step()
            total += (time.perf_counter() - start) / steps
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    generator = ToyDataGenerator.create(512, 256, 0.99, 5, seed=0)
    grid = SweepGrid(DEFAULT_L1, tuple(int(r * 512) for r in DEFAULT_RATIOS))
    flops_per_step = 10 * args.batch_size * generator.dim * grid.total_latents()
    peak = matmul_peak()
    batched = time_batched(generator, grid, args.steps, args.batch_size)
    loop_fast = time_loop_fast(generator, grid, args.steps, args.batch_size)
    loop_autograd = time_loop_autograd(generator, grid, args.steps, args.batch_size)
    achieved = flops_per_step / batched / 1e9
    results = {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "grid": f"{len(DEFAULT_L1)} L1 x {len(DEFAULT_RATIOS)} ratios, {grid.total_latents()} latents, "
                f"batch {args.batch_size}",
        "matmul_peak_gflops": round(peak, 1), "batched_ms_per_step": round(batched * 1e3, 1),
        "batched_gflops": round(achieved, 1), "fraction_of_peak": round(achieved / peak, 3),
        "loop_fast_ms_per_step": round(loop_fast * 1e3, 1), "speedup_vs_loop_fast": round(loop_fast / batched, 2),
        "loop_autograd_ms_per_step": round(loop_autograd * 1e3, 1),
        "speedup_vs_loop_autograd": round(loop_autograd / batched, 2),
    }
    for key, value in results.items():
        print(f"{key:28s} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
