"""jumprelu: the JumpReLU SAE of Rajamanoharan et al. (2024), with Gemma Scope's recipe; sparsity value λ.

Inputs are multiplied by one fixed scalar c = 1/sqrt(E||x||²) of the initialisation sample (Gemma Scope), so
x' = c·x has unit mean squared norm, the scale for which the bandwidth and initial threshold were chosen. Then

    π = ReLU((x' − b_dec) W_encᵀ + b_enc),  θ = exp(log θ),  f = π·H(π − θ),  x̂' = f W_dec + b_dec,
    L = mean_b [ Σ_j (x̂' − x')² + λ_t Σ_i H(π − θ) ],

with H(u) = 1[u > 0], the threshold stored as log θ (the paper's pseudo-code) and λ_t = λ·min(1, t/warm-up)
(Gemma Scope: linear over 10,000 steps). Straight-through pseudo-derivatives with the rectangle kernel
K(u) = 1[|u| < ½] of bandwidth ε: ∂f/∂θ := −(θ/ε)K((π − θ)/ε), ∂H/∂θ := −(1/ε)K((π − θ)/ε), ∂f/∂π = H(π − θ),
∂H/∂π = 0, so (G1, G2) ∂L/∂θ_i = (1/ε) Σ_b K(·)(−θ_i ∂L/∂f_bi − λ_t/B) and ∂L/∂log θ_i = θ_i ∂L/∂θ_i.
The ReLU before the jump is the pseudo-code's (SAELens omits it; identical forward for θ > 0).

Decoder rows at unit norm (gradient projection before Adam, renormalisation after: Gemma Scope). Initialisation
(Gemma Scope §3.2): W_dec He-uniform with unit rows, W_enc = W_dec (the transpose in SAELens's layout),
b_enc = b_dec = 0, θ = ``initial_threshold``. Decoded outputs are divided by c, so reconstructions and losses in
the tables are in the data's units; the SAELens export folds c into the weights (Gemma Scope's fold).
"""

from __future__ import annotations

import math

import torch

from superposition.sae.base import (
    Architecture,
    Losses,
    SAEStack,
    StepContext,
    StepResult,
    model_seed,
    unit_rows,
    update_dead_counters_,
)
from superposition.sae.data_init import mean_squared_norm
from superposition.sae.options import ArchitectureOptions
from superposition.sae.relu_l1 import relu_mask_

__all__ = ["JumpReLU", "JUMPRELU", "l0_warmup", "rectangle"]


def l0_warmup(step: int | None, warmup_steps: int) -> float:
    """λ_t / λ = min(1, t / warm-up) at optimiser step t (1-based); 1 when ``step`` is None or no warm-up."""
    if step is None or warmup_steps == 0:
        return 1.0
    return min(1.0, step / warmup_steps)


def rectangle(u: torch.Tensor) -> torch.Tensor:
    """K(u) = 1[−½ < u < ½] (strict on both sides), as the input's dtype."""
    return ((u > -0.5) & (u < 0.5)).to(u.dtype)


class _JumpFunction(torch.autograd.Function):
    """f = z·H(z − θ); ∂f/∂z = H(z − θ); ∂f/∂θ := −(θ/ε) K((z − θ)/ε), summed over the batch."""

    @staticmethod
    def forward(ctx, z, theta, bandwidth):
        ctx.save_for_backward(z, theta)
        ctx.bandwidth = bandwidth
        return z * (z > theta)

    @staticmethod
    def backward(ctx, grad):
        z, theta = ctx.saved_tensors
        kernel = rectangle((z - theta) / ctx.bandwidth)
        grad_theta = (-(theta / ctx.bandwidth) * kernel * grad).sum(dim=1, keepdim=True)
        return (z > theta) * grad, grad_theta, None


class _StepFunction(torch.autograd.Function):
    """H(z − θ); ∂H/∂z := 0; ∂H/∂θ := −(1/ε) K((z − θ)/ε), summed over the batch."""

    @staticmethod
    def forward(ctx, z, theta, bandwidth):
        ctx.save_for_backward(z, theta)
        ctx.bandwidth = bandwidth
        return (z > theta).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        z, theta = ctx.saved_tensors
        kernel = rectangle((z - theta) / ctx.bandwidth)
        return torch.zeros_like(z), (-(1.0 / ctx.bandwidth) * kernel * grad).sum(dim=1, keepdim=True), None


class JumpReLU(Architecture):
    """Rajamanoharan et al.'s JumpReLU SAE with a direct L0 penalty and straight-through estimators."""

    name = "jumprelu"
    sparsity_name = "l0_coefficient"
    sparsity_label = "L0 coefficient λ"
    saelens_architecture = "jumprelu"
    param_names = ("w_enc", "b_enc", "w_dec", "b_dec", "log_threshold")
    latent_params = ("w_enc", "b_enc", "w_dec", "log_threshold")
    pre_encoder_bias = True
    unit_norm_decoder = True
    needs_data = True

    def init_stack(self, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int,
                   options: ArchitectureOptions, data: torch.Tensor | None = None) -> SAEStack:
        if data is None:
            raise ValueError(f"{self.name} scales its inputs by a constant estimated from data: pass a sample")
        decoders = []
        for value in sparsities:
            self.check_sparsity(value, dict_size)
            generator = torch.Generator().manual_seed(model_seed(seed, self.name, dict_size, value))
            bound = math.sqrt(6.0 / dim)  # He-uniform; the rows are normalised next, so only directions matter
            decoders.append(torch.empty(dict_size, dim).uniform_(-bound, bound, generator=generator))
        w_dec = unit_rows(torch.stack(decoders))
        n = len(sparsities)
        params = {"w_enc": w_dec.clone(), "b_enc": torch.zeros(n, dict_size), "w_dec": w_dec,
                  "b_dec": torch.zeros(n, dim),
                  "log_threshold": torch.full((n, dict_size), math.log(options.initial_threshold))}
        scale = torch.full((n,), 1.0 / math.sqrt(mean_squared_norm(data)), dtype=torch.float32)
        return SAEStack(self.name, tuple(sparsities), params, {"input_scale": scale})

    def input_scale(self, stack: SAEStack) -> torch.Tensor:
        return stack.buffers["input_scale"]

    def _pre(self, x: torch.Tensor, stack: SAEStack) -> tuple[torch.Tensor, torch.Tensor]:
        """(x' = c·x (n, B, h), π before the ReLU (n, B, J)) for x (B, h)."""
        scaled = x.unsqueeze(0) * stack.buffers["input_scale"][:, None, None]
        centred = scaled - stack.params["b_dec"].unsqueeze(1)
        return scaled, torch.baddbmm(stack.b_enc.unsqueeze(1), centred, stack.w_enc.transpose(1, 2))

    def encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """f = π·1[π > θ]: x (B, h) -> (n, B, J)."""
        _, pre = self._pre(x, stack)
        active = torch.relu(pre)
        return active * (active > stack.params["log_threshold"].exp().unsqueeze(1))

    def decode(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """x̂ = (f W_dec + b_dec)/c in the data's units: (n, B, J) -> (n, B, h)."""
        scaled = torch.baddbmm(stack.params["b_dec"].unsqueeze(1), codes, stack.w_dec)
        return scaled / stack.buffers["input_scale"][:, None, None]

    def penalty(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """λ mean_batch ||f||₀ (after the warm-up): codes (n, B, J) -> (n,)."""
        return stack.sparsity_tensor(codes.device) * (codes > 0).sum(dim=2).to(codes.dtype).mean(dim=1)

    def losses(self, x: torch.Tensor, stack: SAEStack, options: ArchitectureOptions,
               dead: torch.Tensor | None = None, step: int | None = None) -> Losses:
        """The objective L above (straight-through autograd), with λ_t at ``step``."""
        scaled, pre = self._pre(x, stack)
        active = torch.relu(pre)
        theta = stack.params["log_threshold"].exp().unsqueeze(1)  # (n, 1, J)
        codes = _JumpFunction.apply(active, theta, options.bandwidth)
        residual = torch.baddbmm(stack.params["b_dec"].unsqueeze(1), codes, stack.w_dec) - scaled
        sse = residual.pow(2).sum(dim=2).mean(dim=1)  # (n,)
        l0 = _StepFunction.apply(active, theta, options.bandwidth).sum(dim=2).mean(dim=1)
        penalty = stack.sparsity_tensor(x.device) * l0_warmup(step, options.l0_warmup_steps) * l0
        scale = stack.buffers["input_scale"]
        return Losses(sse / (x.shape[1] * scale**2), penalty, codes, sse + penalty)

    @torch.no_grad()
    def train_step(self, x: torch.Tensor, pre: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                   counters: torch.Tensor, context: StepContext) -> StepResult:
        """G1/G2 as in the module docstring; x here is already scaled (x' = c·x)."""
        batch, dim = x.shape
        bandwidth = context.options.bandwidth
        penalty_weight = context.sparsity * l0_warmup(context.step, context.options.l0_warmup_steps)  # (n,)
        theta = stack.params["log_threshold"].exp()  # (n, J)
        active = pre.relu_()  # π (n, B, J), in the trainer's buffer
        codes = active * (active > theta.unsqueeze(1))
        fired = codes.sum(dim=1) > 0
        update_dead_counters_(counters, fired)
        residual = torch.baddbmm(stack.params["b_dec"].unsqueeze(1), codes, stack.w_dec).sub_(x)  # (n, B, h)
        result = StepResult(None, None)
        if context.report:
            sse = residual.pow(2).sum(dim=(1, 2)) / batch
            l0 = (codes > 0).sum(dim=(1, 2)).to(sse.dtype) / batch
            scale = stack.buffers["input_scale"]
            result = StepResult(sse / (dim * scale**2), penalty_weight * l0)
        grad_output = residual.mul_(2.0 / batch)
        torch.bmm(codes.transpose(1, 2), grad_output, out=grads["w_dec"])
        torch.sum(grad_output, dim=1, out=grads["b_dec"])
        grad_codes = torch.bmm(grad_output, stack.w_dec.transpose(1, 2), out=grads["pre"])  # ∂L/∂f (n, B, J)
        window = rectangle((active - theta.unsqueeze(1)) / bandwidth)  # K((π − θ)/ε)
        grad_theta = -(theta * (grad_codes * window).sum(dim=1)) - penalty_weight[:, None] / batch * window.sum(1)
        torch.mul(grad_theta.div_(bandwidth), theta, out=grads["log_threshold"])
        relu_mask_(grad_codes, codes)  # ∂L/∂π = H(π − θ) ∂L/∂f; the ReLU passes it where π > θ > 0
        return result


JUMPRELU = JumpReLU()
