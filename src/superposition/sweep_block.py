"""One training step of every SAE of one architecture's grid, in chunks of models, each with its own Adam step.

All stacks of an architecture (one per dictionary size) live in flat tensors: ``w_enc`` and ``w_dec`` are (T, h)
with T = Σ n·J latents, ``b_enc`` (T,), per-model tensors such as ``b_dec`` (M, h); each stack's tensors are views
into them, and so are Adam's moment estimates. A step walks the grid in chunks of whole models (at most
``CHUNK_LATENTS`` latents, or one model) and does everything for a chunk before the next: the encoder's batched
matmul into a contiguous (n, B, J) buffer, the architecture's :meth:`~superposition.sae.base.Architecture.train_step`
(activation, decoder matmuls, decoder-side gradients), the encoder's gradients, the decoder projection, the chunk's
fused Adam update (one kernel for all its tensors) and the decoder renormalisation. The activation and gradient
buffers are allocated once and reused from chunk to chunk, and losses are computed only on logging steps, so the
work outside the matmuls is a handful of passes over each chunk (benchmarks/README.md). Models never interact, so
updating a chunk before the next one computes gives the numbers of a step over the whole grid: the tests check
equality with training each model alone, and relu_l1's weights are bit-identical to the pre-package trainer's on the
default toy grid (the same matmuls, sums and Adam kernel, in the same layout).

Architectures with a pre-encoder bias (pre = (x − b_dec) W_encᵀ + b_enc) give each model its own input x − b_dec;
∂L/∂W_enc = gᵀ(x − b_dec), and ∂L/∂b_dec gets −(Σ_b g) W_enc from the encoder side, g = ∂L/∂pre.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from superposition.sae import AdamSettings, SAEStack, StepContext, StepResult, get_architecture
from superposition.sae.auxk import dead_steps
from superposition.sae.base import project_out_radial_, renormalise_rows_
from superposition.sae.options import ArchitectureOptions

__all__ = ["Block", "CHUNK_LATENTS"]

CHUNK_LATENTS = 8192  # latents per chunk at most (one model when larger): bounds the activation buffers (8 MB at batch 256)


@dataclass(frozen=True)
class _Chunk:
    stack: int  # index of the stack
    first: int  # first model of the chunk within its stack
    stop: int  # one past its last model
    latents: tuple[int, int]  # its rows of the flat latent tensors
    models: tuple[int, int]  # its rows of the flat per-model tensors


class Block:
    """The stacks of one architecture in flat storage on ``device``, with their Adam state; their tensors become
    views of it."""

    def __init__(self, stacks: list[SAEStack], options: ArchitectureOptions, device: torch.device | str,
                 lr: float = 1e-3, adam: AdamSettings | None = None, chunk_latents: int = CHUNK_LATENTS) -> None:
        self.arch = get_architecture(stacks[0].architecture)
        self.stacks, self.options, self.lr, self.adam = stacks, options, lr, adam or AdamSettings()
        self.params: dict[str, torch.Tensor] = {}
        for name in self.arch.param_names:
            parts = [stack.params[name] for stack in stacks]
            if name in self.arch.latent_params:
                parts = [part.reshape(-1, *part.shape[2:]) for part in parts]
            self.params[name] = torch.cat(parts).to(device).contiguous()
        self.exp_avg = {name: torch.zeros_like(tensor) for name, tensor in self.params.items()}
        self.exp_avg_sq = {name: torch.zeros_like(tensor) for name, tensor in self.params.items()}
        self.step_count = torch.zeros((), dtype=torch.float32, device=device)
        self.chunks: list[_Chunk] = []
        latents = models = 0
        for index, stack in enumerate(stacks):
            per_chunk = max(1, chunk_latents // stack.dict_size)
            for first in range(0, stack.n_models, per_chunk):
                stop = min(first + per_chunk, stack.n_models)
                self.chunks.append(_Chunk(index, first, stop,
                                          (latents + first * stack.dict_size, latents + stop * stack.dict_size),
                                          (models + first, models + stop)))
            stack.params = self._views(self.params, (latents, latents + stack.n_models * stack.dict_size),
                                       (models, models + stack.n_models), stack.dict_size)
            stack.buffers = {name: tensor.to(device) for name, tensor in stack.buffers.items()}
            latents += stack.n_models * stack.dict_size
            models += stack.n_models
        self.counters = [torch.zeros(s.n_models, s.dict_size, dtype=torch.int32, device=device) for s in stacks]
        self.sparsity = [stack.sparsity_tensor(device) for stack in stacks]
        scale = self.arch.input_scale(stacks[0])
        self.input_scale = None if scale is None else scale[0].to(device)
        widest = max(chunk.latents[1] - chunk.latents[0] for chunk in self.chunks)  # latents of the widest chunk
        most = max(chunk.models[1] - chunk.models[0] for chunk in self.chunks)
        self._scratch = {name: torch.empty((most if name not in self.arch.latent_params else widest,
                                            *tensor.shape[1:]), dtype=tensor.dtype, device=device)
                         for name, tensor in self.params.items()}
        self._pre = self._grad_pre = None
        self.window = 0

    def _views(self, flat: dict[str, torch.Tensor], latents: tuple[int, int], models: tuple[int, int],
               dict_size: int) -> dict[str, torch.Tensor]:
        """Rows ``latents`` / ``models`` of flat tensors as (n, J, ...) / (n, ...) views."""
        views = {}
        for name, tensor in flat.items():
            if name in self.arch.latent_params:
                part = tensor[latents[0] : latents[1]]
                views[name] = part.view(part.shape[0] // dict_size, dict_size, *tensor.shape[1:])
            else:
                views[name] = tensor[models[0] : models[1]]
        return views

    def _chunk_stack(self, chunk: _Chunk) -> SAEStack:
        stack = self.stacks[chunk.stack]
        return SAEStack(stack.architecture, stack.sparsities[chunk.first : chunk.stop],
                        self._views(self.params, chunk.latents, chunk.models, stack.dict_size),
                        {name: tensor[chunk.first : chunk.stop] for name, tensor in stack.buffers.items()})

    @torch.no_grad()
    def step(self, x: torch.Tensor, step: int, update: bool = True, report: bool = True
             ) -> tuple[list[StepResult] | None, dict | None]:
        """Train every model on the batch x (B, h) for one step (``update``: Adam steps; else the gradients of the
        whole grid are returned as flat tensors, for tests). Returns (one StepResult per stack if ``report``,
        else None; gradients or None)."""
        batch = x.shape[0]
        if self._pre is None or self._pre.shape[0] != batch * self._scratch["w_enc"].shape[0]:  # (n·B·J) buffers
            self._pre = torch.empty(batch * self._scratch["w_enc"].shape[0], dtype=x.dtype, device=x.device)
            self._grad_pre = torch.empty_like(self._pre)
            self.window = dead_steps(self.options.dead_tokens, batch)
        inputs = x if self.input_scale is None else x * self.input_scale
        self.step_count.fill_(step)
        lr = self.lr * self.adam.lr_factor(step)
        full = None if update else {name: torch.zeros_like(t) for name, t in self.params.items()}
        pieces: list[list[StepResult]] = [[] for _ in self.stacks]
        for chunk in self.chunks:
            pieces[chunk.stack].append(self._chunk_step(inputs, chunk, step, lr, full, report))
        if not report:
            return None, full
        results = [StepResult(torch.cat([p.reconstruction for p in parts]), torch.cat([p.penalty for p in parts]))
                   for parts in pieces]
        return results, full

    def _chunk_step(self, inputs: torch.Tensor, chunk: _Chunk, step: int, lr: float, full: dict | None,
                    report: bool) -> StepResult:
        stack = self._chunk_stack(chunk)
        n_models, dict_size, batch = stack.n_models, stack.dict_size, inputs.shape[0]
        width = n_models * dict_size
        lo, hi = chunk.latents
        pre = self._pre[: n_models * batch * dict_size].view(n_models, batch, dict_size)  # (n, B, J)
        grad_pre = self._grad_pre[: n_models * batch * dict_size].view(n_models, batch, dict_size)
        if self.arch.pre_encoder_bias:  # each model sees x − b_dec
            model_inputs = inputs.unsqueeze(0) - stack.params["b_dec"].unsqueeze(1)  # (n, B, h)
        else:
            model_inputs = inputs.expand(n_models, batch, inputs.shape[1])  # a view: no copy
        torch.bmm(model_inputs, stack.w_enc.transpose(1, 2), out=pre)
        pre.add_(stack.b_enc.unsqueeze(1))
        flat_grads = {name: self._scratch[name][: (hi - lo if name in self.arch.latent_params else n_models)]
                      for name in self.params}
        grads = self._views(flat_grads, (0, width), (0, n_models), dict_size)
        grads["pre"] = grad_pre
        context = StepContext(step, self.sparsity[chunk.stack][chunk.first : chunk.stop], self.options, self.window,
                              report)
        result = self.arch.train_step(inputs, pre, stack, grads, self.counters[chunk.stack][chunk.first : chunk.stop],
                                      context)
        torch.sum(grad_pre, dim=1, out=grads["b_enc"])
        torch.bmm(grad_pre.transpose(1, 2), model_inputs, out=grads["w_enc"])  # ∂L/∂W_enc = gᵀ(x − b_dec)
        if self.arch.pre_encoder_bias:  # ∂L/∂b_dec gets −(Σ_b g) W_enc from the encoder side
            grads["b_dec"].unsqueeze(1).baddbmm_(grads["b_enc"].unsqueeze(1), stack.w_enc, alpha=-1.0)
        if self.arch.unit_norm_decoder:
            project_out_radial_(flat_grads["w_dec"], self.params["w_dec"][lo:hi])
        if full is not None:
            for name, grad in flat_grads.items():
                rows = (lo, hi) if name in self.arch.latent_params else chunk.models
                full[name][rows[0] : rows[1]] = grad
            return result
        self._adam(chunk, flat_grads, lr)
        if self.arch.unit_norm_decoder:
            renormalise_rows_(self.params["w_dec"][lo:hi])
        return result

    def _adam(self, chunk: _Chunk, grads: dict[str, torch.Tensor], lr: float) -> None:
        """Adam on the chunk's rows of every parameter (PyTorch's fused kernel where it exists)."""
        names = list(self.params)
        rows = {name: chunk.latents if name in self.arch.latent_params else chunk.models for name in names}
        params = [self.params[n][rows[n][0] : rows[n][1]] for n in names]
        exp_avg = [self.exp_avg[n][rows[n][0] : rows[n][1]] for n in names]
        exp_avg_sq = [self.exp_avg_sq[n][rows[n][0] : rows[n][1]] for n in names]
        gradients = [grads[n] for n in names]
        steps = [self.step_count] * len(names)  # the kernel only reads the step
        settings = dict(lr=lr, beta1=self.adam.beta1, beta2=self.adam.beta2, weight_decay=0.0, eps=self.adam.eps,
                        amsgrad=False, maximize=False)
        if self.step_count.device.type in ("cpu", "cuda"):
            torch._fused_adam_(params, gradients, exp_avg, exp_avg_sq, [], steps, grad_scale=None, found_inf=None,
                               **settings)
        else:  # other devices: the same update, unfused
            from torch.optim.adam import adam

            adam(params, gradients, exp_avg, exp_avg_sq, [], [s.clone() - 1 for s in steps], foreach=False,
                 **settings)

    def release(self) -> list[SAEStack]:
        """The stacks on the CPU with their own contiguous tensors (the flat storage is no longer referenced)."""
        return [stack.to("cpu").detached() for stack in self.stacks]
