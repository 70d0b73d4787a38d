"""Benchmark: what torch.compile (Inductor, CPU) does to the relu_l1 sweep step, in speed and in numbers.

Run by hand (`python benchmarks/bench_compile.py`); the numbers go in benchmarks/README.md. Issue 17 asked for
torch.compile "where it helps"; this measures whether it does on the default toy grid, in one run: the library's
hand-written eager step against the same step with the gradient (everything between the batch and Adam: encoder,
ReLU, normalised decoder, residual, the five matmuls, the ReLU mask, the radial projection) compiled into fused
kernels, both followed by the trainer's fused Adam. The two trainers alternate, so that the machine's state is
shared; each keeps its best of ``--rounds`` timings. Then it reports how far the compiled trainer's weights are
from the eager trainer's after the timed steps, on the same seed and batches, after checking that
the two compute the same first-step gradient up to rounding.

The compiled gradient is written here, not in the library: the library keeps the eager step (see README).
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_sweep import DEFAULT_L1, DEFAULT_RATIOS, matmul_peak

from superposition.runtime import make_generator, retain_freed_memory
from superposition.sae import get_architecture
from superposition.sae.base import update_dead_counters_
from superposition.sweep import SweepGrid
from superposition.sweep_block import Block
from superposition.toy_data import ToyDataGenerator


def relu_l1_gradient(x: torch.Tensor, w_enc: torch.Tensor, b_enc: torch.Tensor, w_dec: torch.Tensor,
                     alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """relu_l1's loss gradient for a chunk of n models (the formulas of ``ReluL1.train_step``, written functionally
    so that Inductor can fuse them): x (B, h), w_enc and w_dec (n, J, h), b_enc (n, J), alpha (n,) ->
    (∂/∂W_enc (n, J, h), ∂/∂b_enc (n, J), ∂/∂W_dec (n, J, h), fired (n, J) bool)."""
    n_models, dict_size, dim = w_enc.shape
    batch = x.shape[0]
    inputs = x.expand(n_models, batch, dim)
    codes = torch.relu(torch.bmm(inputs, w_enc.transpose(1, 2)) + b_enc.unsqueeze(1))
    norm = w_dec.norm(dim=-1, keepdim=True)
    decoder = w_dec / norm
    grad_output = (torch.bmm(codes, decoder) - x) * (2.0 / (batch * dim))
    grad_decoder = torch.bmm(codes.transpose(1, 2), grad_output)
    grad_codes = torch.bmm(grad_output, decoder.transpose(1, 2)) + (alpha / (dict_size * batch)).view(-1, 1, 1)
    grad_codes = torch.where(codes > 0, grad_codes, 0.0)
    radial = (decoder * grad_decoder).sum(-1, keepdim=True)
    return (torch.bmm(grad_codes.transpose(1, 2), inputs), grad_codes.sum(1), (grad_decoder - decoder * radial) / norm,
            codes.sum(1) > 0)


class CompiledBlock(Block):
    """The trainer's Block with each chunk's gradient from the compiled function, then the same fused Adam."""

    gradient = staticmethod(torch.compile(relu_l1_gradient, dynamic=False))

    def _chunk_step(self, inputs, chunk, step, lr, full, report):  # noqa: ANN001, ANN202 (the parent's signature)
        stack = self._chunk_stack(chunk)
        rows = chunk.latents[1] - chunk.latents[0]
        grad_w_enc, grad_b_enc, grad_w_dec, fired = self.gradient(
            inputs, stack.w_enc, stack.b_enc, stack.w_dec, self.sparsity[chunk.stack][chunk.first : chunk.stop])
        update_dead_counters_(self.counters[chunk.stack][chunk.first : chunk.stop], fired)
        grads = {"w_enc": grad_w_enc.view(rows, -1), "b_enc": grad_b_enc.view(-1), "w_dec": grad_w_dec.view(rows, -1)}
        if full is not None:  # the parent's contract: return the gradients instead of stepping
            for name, grad in grads.items():
                full[name][chunk.latents[0] : chunk.latents[1]] = grad
            return
        self._adam(chunk, grads, lr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round and trainer")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    retain_freed_memory()  # as train_sweep does
    generator = ToyDataGenerator.create(512, 256, 0.99, 5, seed=0)
    grid = SweepGrid("relu_l1", DEFAULT_L1, tuple(int(r * 512) for r in DEFAULT_RATIOS), lr=3e-3)
    arch = get_architecture("relu_l1")
    rng = make_generator(1)
    batches = [generator.sample(256, rng) for _ in range(5 + args.rounds * args.steps)]
    peak = matmul_peak(time.perf_counter)
    flops_per_step = 10 * 256 * generator.dim * grid.total_latents()
    trainers = {}
    for name, cls in (("eager", Block), ("compiled", CompiledBlock)):
        stacks = [arch.init_stack(generator.dim, size, grid.sparsities, 0, grid.options) for size in grid.dict_sizes]
        trainers[name] = cls(stacks, grid.options, "cpu", grid.lr, grid.adam)
        start = time.perf_counter()
        gradients = trainers[name].step(batches[0], 1, update=False, report=False)[1]
        for step in range(1, 6):  # warm-up; the compiled trainer compiles one kernel set per chunk shape here
            trainers[name].step(batches[step - 1], step, report=False)
        print(f"{name:9s} first 5 steps (compilation included): {time.perf_counter() - start:.1f} s")
        if name == "eager":
            eager_gradients = gradients
        else:  # the compiled formulas are the library's: the same first-step gradient up to rounding
            for param, grad in gradients.items():
                torch.testing.assert_close(grad, eager_gradients[param], rtol=1e-4, atol=1e-7)
            print("compiled first-step gradients equal the eager trainer's (rtol 1e-4)")
    best = {name: float("inf") for name in trainers}
    for round_ in range(args.rounds):
        first = 5 + round_ * args.steps
        for name, trainer in trainers.items():
            start = time.perf_counter()
            for step in range(first + 1, first + args.steps + 1):
                trainer.step(batches[step - 1], step, report=False)
            best[name] = min(best[name], (time.perf_counter() - start) / args.steps)
    print(f"matmul peak (2048², fp32)               {peak:.1f} GFLOP/s")
    for name, seconds in best.items():
        print(f"{name:9s} {seconds * 1e3:6.1f} ms/step = {flops_per_step / seconds / 1e9 / peak:.3f} of peak")
    print(f"compiled / eager step time              {best['compiled'] / best['eager']:.3f}")
    total = 5 + args.rounds * args.steps
    for param in arch.param_names:
        eager, compiled = trainers["eager"].params[param], trainers["compiled"].params[param]
        print(f"{param:6s} after {total} steps: bit-identical {torch.equal(eager, compiled)}, max |difference| "
              f"{(eager - compiled).abs().max():.2e} (max |weight| {eager.abs().max():.2e})")


if __name__ == "__main__":
    main()
