"""Benchmark: the batched sweep trainer against this machine's matmul peak and a one-model-at-a-time loop.

Run by hand (`make benchmark`); numbers go in benchmarks/README.md. All figures come from one run on one machine and
are compared as ratios. FLOPs count the five matmuls of an SAE training step (encoder forward and weight
gradient, decoder forward, decoder weight and input gradients): 10 · batch · h · J per model and step, the same for
every architecture (the decoder matmuls are dense); elementwise work, top-k selection and data generation are not
counted but are inside the measured times.

A step's time is its steady state: (time of S + W steps − time of W steps) / S with the same set-up, so model
initialisation (QR for relu_l1's orthogonal decoders) and BatchTopK's post-training threshold are left out. Each
is measured two ways: wall clock, and CPU time / threads with idle OpenMP threads sleeping (run with
OMP_WAIT_POLICY=PASSIVE; `make benchmark` does), which is what the machine's cores spent on it and hardly moves
when other jobs share the machine. The matmul peak is measured both ways too, and each fraction of peak divides
like by like.

Grids, each 24 models with 23,040 latents (sizes J = 0.5, 1, 2, 4 × 512):
  relu_l1        the default toy grid: 6 L1 coefficients;
  topk           6 values of k (4 … 128), AuxK idle (no latent reaches the 10M-token dead window here);
  topk+AuxK      the same with every latent past a 1-token dead window from the start (AuxK's worst case);
  batchtopk      the topk grid with BatchTopK;
  jumprelu       6 L0 coefficients.

Beside them, in the same run: the memory bandwidth of a large elementwise add, the time of one fused Adam step
on the relu_l1 grid's 11.8 M parameters (the two rates the step's work outside the matmuls runs at) and the time
to draw one toy batch (inside every measured step: the sweep trains on a stream drawn as it goes).

The matmul ceiling of the relu_l1 step (relu_l1-matmuls): the same five matmuls per chunk of models, on the
trainer's own weights, chunks and buffer shapes, with nothing else: the fraction of peak the step would reach if
all of its work outside the matmuls took no time.

Baselines for relu_l1 (--loops), each training every model of the same grid for the same steps on the same data:
  loop-fast      one model at a time with the library's own hand-written step (isolates batching);
  loop-autograd  one model at a time as a plain `torch.nn.Module` with autograd and `torch.optim.Adam`
                 (what a straightforward implementation does).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from superposition.runtime import make_generator
from superposition.sae import ArchitectureOptions, get_architecture
from superposition.sae.relu_l1 import init_sae
from superposition.sae.base import model_seed
from superposition.sweep import SweepGrid, train_sweep
from superposition.sweep_block import Block
from superposition.toy_data import ToyDataGenerator

DEFAULT_L1 = (0.01, 0.0316227766, 0.1, 0.177827941, 0.316227766, 1.0)
DEFAULT_K = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
DEFAULT_L0 = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
DEFAULT_RATIOS = (0.5, 1.0, 2.0, 4.0)


def cpu_clock() -> float:
    """Seconds of CPU time of this process per thread (with OMP_WAIT_POLICY=PASSIVE, idle threads spend none)."""
    return time.process_time() / torch.get_num_threads()


CLOCKS = {"wall": time.perf_counter, "cpu": cpu_clock}


def fastest(clock, run, seconds: float) -> float:
    """Best seconds of one ``run()``, timed by ``clock``, over calls repeated for ``seconds`` of wall time."""
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def matmul_peak(clock, size: int = 2048, seconds: float = 3.0) -> float:
    """Best GFLOP/s of a dense fp32 (size × size) matmul over ``seconds`` of wall time, timed by ``clock``."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / fastest(clock, lambda: a @ b, seconds) / 1e9


def memory_bandwidth(clock, megabytes: int = 64, seconds: float = 2.0) -> float:
    """Best GB/s of an fp32 ``c = a + b`` over tensors of ``megabytes`` each (two reads and a write per element):
    the rate of the step's elementwise passes, which are each larger than the caches."""
    a, b = torch.randn(megabytes * 2**18), torch.randn(megabytes * 2**18)
    out = torch.empty_like(a)
    return 3 * a.numel() * 4 / fastest(clock, lambda: torch.add(a, b, out=out), seconds) / 1e9


def adam_alone(clock, n_params: int, seconds: float = 2.0) -> float:
    """Best seconds of one fused Adam step (PyTorch's kernel, the trainer's) on ``n_params`` fp32 parameters."""
    params, grads, exp_avg, exp_avg_sq = (torch.randn(n_params).abs_() for _ in range(4))
    step = torch.ones(())
    return fastest(clock, lambda: torch._fused_adam_(
        [params], [grads], [exp_avg], [exp_avg_sq], [], [step], lr=1e-9, beta1=0.9, beta2=0.999, weight_decay=0.0,
        eps=1e-8, amsgrad=False, maximize=False, grad_scale=None, found_inf=None), seconds)


def data_generation(clock, generator: ToyDataGenerator, batch_size: int, seconds: float = 2.0) -> float:
    """Best seconds to draw one toy batch of ``batch_size`` samples, the draw every measured step includes."""
    rng = torch.Generator().manual_seed(0)
    return fastest(clock, lambda: generator.sample(batch_size, rng), seconds)


def batches(generator: ToyDataGenerator, batch_size: int, seed: int):
    rng = torch.Generator().manual_seed(seed)
    while True:
        yield generator.sample(batch_size, rng)


def steady_state(run, steps: int, repeats: int) -> dict[str, float]:
    """Seconds per step by each clock of ``run(n_steps)`` (which returns the seconds each clock measured): the best
    over ``repeats`` of (time of ``2·steps`` − time of ``steps``) / ``steps``, after a 3-step warm-up, so set-up
    and finishing cancel."""
    run(3)
    best = {name: float("inf") for name in CLOCKS}
    for _ in range(repeats):
        short, long = run(steps), run(2 * steps)
        for name in CLOCKS:
            best[name] = min(best[name], (long[name] - short[name]) / steps)
    return best


def time_batched(generator, grid, steps, batch_size, repeats: int = 2) -> dict[str, float]:
    """Steady-state seconds per step of the whole grid with the batched trainer, by each clock."""
    init = generator.sample(4096, make_generator(7))

    def run(n_steps: int) -> dict[str, float]:
        begin = {name: clock() for name, clock in CLOCKS.items()}
        train_sweep(batches(generator, batch_size, 0), generator.dim, grid, n_steps, 0, progress=False,
                    init_data=init, log_every=10**9)
        return {name: clock() - begin[name] for name, clock in CLOCKS.items()}

    return steady_state(run, steps, repeats)


def time_matmuls_only(generator, grid, steps, batch_size, repeats: int = 2) -> dict[str, float]:
    """Steady-state seconds per step, by each clock, of only the relu_l1 step's five matmuls per chunk (encoder
    forward, decoder forward, decoder-weight, code and encoder-weight gradients), in the trainer's chunks."""
    arch = get_architecture(grid.architecture)
    stacks = [arch.init_stack(generator.dim, size, grid.sparsities, 0, grid.options) for size in grid.dict_sizes]
    block = Block(stacks, grid.options, "cpu", grid.lr, grid.adam)
    x = generator.sample(batch_size, make_generator(7))
    widest = max(chunk.latents[1] - chunk.latents[0] for chunk in block.chunks)
    most = max(chunk.models[1] - chunk.models[0] for chunk in block.chunks)
    pre_flat, grad_pre_flat = torch.empty(batch_size * widest), torch.empty(batch_size * widest)
    grad_w_enc_flat, grad_w_dec_flat = torch.empty(widest, generator.dim), torch.empty(widest, generator.dim)
    residual_flat = torch.empty(most * batch_size * generator.dim)
    work = []
    for chunk in block.chunks:
        stack = block.stacks[chunk.stack]  # its tensors are views of the Block's flat storage
        w_enc, w_dec = stack.w_enc[chunk.first : chunk.stop], stack.w_dec[chunk.first : chunk.stop]
        n, size = w_enc.shape[:2]
        pre = pre_flat[: n * batch_size * size].view(n, batch_size, size)
        work.append((x.expand(n, *x.shape), w_enc, w_dec, pre, grad_pre_flat[: pre.numel()].view_as(pre),
                     residual_flat[: n * batch_size * generator.dim].view(n, batch_size, -1),
                     grad_w_enc_flat[: n * size].view_as(w_enc), grad_w_dec_flat[: n * size].view_as(w_dec)))

    def run(n_steps: int) -> dict[str, float]:
        begin = {name: clock() for name, clock in CLOCKS.items()}
        for _ in range(n_steps):
            for inputs, w_enc, w_dec, pre, grad_pre, residual, grad_w_enc, grad_w_dec in work:
                torch.bmm(inputs, w_enc.transpose(1, 2), out=pre)
                torch.bmm(pre, w_dec, out=residual)
                torch.bmm(pre.transpose(1, 2), residual, out=grad_w_dec)
                torch.bmm(residual, w_dec.transpose(1, 2), out=grad_pre)
                torch.bmm(grad_pre.transpose(1, 2), inputs, out=grad_w_enc)
        return {name: clock() - begin[name] for name, clock in CLOCKS.items()}

    return steady_state(run, steps, repeats)


def time_loop_fast(generator, grid, steps, batch_size) -> float:
    """Steady-state wall seconds per grid step training each model alone with the same trainer (grid of one)."""
    return sum(time_batched(generator, SweepGrid(grid.architecture, (value,), (size,), grid.lr), steps, batch_size,
                            repeats=1)["wall"] for size in grid.dict_sizes for value in grid.sparsities)


class PlainSAE(torch.nn.Module):
    """The report's SAE written the usual way: nn.Linear encoder, normalised decoder, autograd."""

    def __init__(self, dim: int, size: int, alpha: float, seed: int) -> None:
        super().__init__()
        w_enc, b_enc, w_dec = init_sae(dim, size, model_seed(seed, "relu_l1", size, alpha))
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
        for alpha in grid.sparsities:
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
    parser.add_argument("--steps", type=int, default=30, help="S: steady-state steps per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--grids", default="relu_l1,relu_l1-matmuls,topk,topk+AuxK,batchtopk,jumprelu")
    parser.add_argument("--loops", action="store_true", help="also time the one-model-at-a-time baselines (slow)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    generator = ToyDataGenerator.create(512, 256, 0.99, 5, seed=0)
    sizes = tuple(int(r * 512) for r in DEFAULT_RATIOS)
    all_grids = {
        "relu_l1": SweepGrid("relu_l1", DEFAULT_L1, sizes),
        "topk": SweepGrid("topk", DEFAULT_K, sizes),
        "topk+AuxK": SweepGrid("topk", DEFAULT_K, sizes, options=ArchitectureOptions(dead_tokens=1)),
        "batchtopk": SweepGrid("batchtopk", DEFAULT_K, sizes, options=ArchitectureOptions(threshold_batches=1)),
        "jumprelu": SweepGrid("jumprelu", DEFAULT_L0, sizes),
    }
    all_grids["relu_l1-matmuls"] = all_grids["relu_l1"]
    grids = {name: all_grids[name] for name in args.grids.split(",")}
    load_before = os.getloadavg()[0]
    # The peak is measured before and after the grids and the larger value kept: on a shared machine a low early
    # reading would inflate every fraction of peak.
    peaks_before = {name: matmul_peak(clock) for name, clock in CLOCKS.items()}
    results = {"torch": torch.__version__, "threads": torch.get_num_threads(),
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
               "grid": f"6 sparsity values x {len(DEFAULT_RATIOS)} ratios, {all_grids['relu_l1'].total_latents()} "
                       f"latents, batch {args.batch_size}"}
    for name, clock in CLOCKS.items():
        results[f"memory_bandwidth_gb_per_s_{name}"] = round(memory_bandwidth(clock), 1)
        # the relu_l1 grid's parameters: W_enc and W_dec (23,040 × 256 each) and b_enc
        results[f"adam_alone_ms_per_step_{name}"] = round(
            adam_alone(clock, all_grids["relu_l1"].total_latents() * (2 * generator.dim + 1)) * 1e3, 1)
        results[f"data_generation_ms_per_batch_{name}"] = round(
            data_generation(clock, generator, args.batch_size) * 1e3, 2)
    flops_per_step = 10 * args.batch_size * generator.dim * all_grids["relu_l1"].total_latents()
    seconds = {}
    for name, grid in grids.items():
        timer = time_matmuls_only if name == "relu_l1-matmuls" else time_batched
        seconds[name] = timer(generator, grid, args.steps, args.batch_size)
    peaks_after = {name: matmul_peak(clock) for name, clock in CLOCKS.items()}
    peaks = {name: max(peaks_before[name], peaks_after[name]) for name in CLOCKS}
    for clock in CLOCKS:
        results[f"matmul_peak_gflops_{clock}"] = round(peaks[clock], 1)
        results[f"matmul_peak_gflops_{clock}_before_after"] = [round(peaks_before[clock], 1),
                                                                round(peaks_after[clock], 1)]
    for name in grids:
        for clock in CLOCKS:
            results[f"{name}_ms_per_step_{clock}"] = round(seconds[name][clock] * 1e3, 1)
            results[f"{name}_fraction_of_peak_{clock}"] = round(
                flops_per_step / seconds[name][clock] / 1e9 / peaks[clock], 3)
    if {"relu_l1", "relu_l1-matmuls"} <= set(grids):
        # The step contains its matmuls: a step faster than its matmuls alone means the machine's speed changed
        # during the run, and its fractions do not compare.
        results["consistent"] = all(seconds["relu_l1-matmuls"][clock] <= seconds["relu_l1"][clock] for clock in CLOCKS)
    if "relu_l1" in grids:
        for name in grids:
            if name == "relu_l1-matmuls":
                continue  # not a trainer
            for clock in CLOCKS:
                results[f"{name}_time_per_model_vs_relu_l1_{clock}"] = round(
                    results[f"{name}_ms_per_step_{clock}"] / results[f"relu_l1_ms_per_step_{clock}"], 2)
    if args.loops:
        batched = results["relu_l1_ms_per_step_wall"] / 1e3
        loop_fast = time_loop_fast(generator, all_grids["relu_l1"], args.steps, args.batch_size)
        loop_autograd = time_loop_autograd(generator, all_grids["relu_l1"], args.steps, args.batch_size)
        results.update(loop_fast_ms_per_step=round(loop_fast * 1e3, 1),
                       speedup_vs_loop_fast=round(loop_fast / batched, 2),
                       loop_autograd_ms_per_step=round(loop_autograd * 1e3, 1),
                       speedup_vs_loop_autograd=round(loop_autograd / batched, 2))
    results["load_average_1min_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    for key, value in results.items():
        print(f"{key:44s} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
