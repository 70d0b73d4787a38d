"""Sparse coding as in Deng, Tao & Benton (2023), Appendix C: alternate dictionary steps with a greedy code update.

Objective (their eq. 1), for activations X (n, d), codes α (n, m) ≥ 0 and a dictionary Φ (d, m) of unit columns:

    L(Φ; α) = (1/n) (||X − α Φᵀ||² + λ ||α||₁).

The greedy code update (per sample x): repeatedly pick the feature f with the largest dot product with the
current residual r, set its coefficient to r·f − λ/2 (projection under the L¹ penalty), subtract, and stop at
the first coefficient ≤ 0. :func:`greedy_codes` runs it for a whole stack of problems and batch at once;
:func:`greedy_codes_reference` is the plain per-sample loop it is tested against.

Several problems with the same d, m and n (the synthetic datasets of one figure, the layers of one model) train
as one stack: every tensor has a leading problem axis K.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from superposition.feature_sparsity.config import CoderConfig
from superposition.feature_sparsity.metrics import average_max_coefficient

log = logging.getLogger(__name__)

# Samples per greedy call when coding a whole dataset: large enough that the per-step Python overhead is
# negligible, small enough that the (K, chunk, m) working tensors stay far below memory limits.
ENCODE_CHUNK = 1024

__all__ = ["greedy_codes", "greedy_codes_reference", "init_dictionary", "learn_dictionary", "LearnedDictionary",
           "encode"]


def greedy_codes(x: torch.Tensor, phi: torch.Tensor, lam: torch.Tensor, max_active: int,
                 gram: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy non-negative codes of a stack of batches, vectorised over problems and samples.

    Args:
        x: (K, B, d) activations.
        phi: (K, d, m) dictionaries with unit columns.
        lam: (K,) the L¹ coefficient λ of each problem.
        max_active: the most greedy steps per sample (a sample still improving after this many stops there).
        gram: optional (K, m, m) Φᵀ Φ, reused when the caller codes several batches with one dictionary.

    Returns:
        (K, B, m) codes α ≥ 0.

    The residual's dot products with every feature are kept up to date through the Gram matrix
    (r ← r − c f  ⇒  Φᵀ r ← Φᵀ r − c Φᵀ f), so a step costs O(m) per sample instead of O(d m).
    """
    k, b, _ = x.shape
    m = phi.shape[2]
    if gram is None:
        gram = phi.transpose(1, 2) @ phi
    gram_rows = gram.reshape(k * m, m)
    dots = (x @ phi).reshape(k * b, m)  # live rows: (problem, sample) pairs still coding
    codes = torch.zeros(k * b, m, dtype=x.dtype, device=x.device)
    rows = torch.arange(k * b, device=x.device)  # which (problem, sample) each live row of `dots` is
    half_lam = (lam.to(x.dtype) / 2).repeat_interleave(b)
    update = torch.empty_like(dots)
    live = torch.ones(k * b, dtype=torch.bool, device=x.device)
    for _ in range(max_active):
        best, feature = dots.max(dim=1)
        coefficient = best - half_lam
        live &= coefficient > 0
        n_live = int(live.sum())
        if n_live == 0:
            break
        if n_live < rows.numel() // 2:
            # Compact once half the rows have stopped: later steps touch only the live ones.
            rows, dots, feature, coefficient, half_lam, live = (
                rows[live], dots[live], feature[live], coefficient[live], half_lam[live], live[live])
            update = update[:n_live]
        coefficient = torch.where(live, coefficient, torch.zeros((), dtype=x.dtype, device=x.device))
        codes.index_put_((rows, feature), coefficient, accumulate=True)
        torch.index_select(gram_rows, 0, (rows // b) * m + feature, out=update)
        dots.addcmul_(update, coefficient[:, None], value=-1)
    return codes.reshape(k, b, m)


def greedy_codes_reference(x: torch.Tensor, phi: torch.Tensor, lam: float, max_active: int) -> torch.Tensor:
    """The greedy update exactly as Appendix C words it, one sample at a time: (n, d), (d, m) -> (n, m).

    Slow; the reference that :func:`greedy_codes` is tested against and benchmarked with.
    """
    codes = torch.zeros(x.shape[0], phi.shape[1], dtype=x.dtype)
    for j in range(x.shape[0]):
        residual = x[j].clone()
        for _ in range(max_active):
            dots = phi.T @ residual
            feature = int(torch.argmax(dots))
            coefficient = float(dots[feature]) - lam / 2
            if coefficient <= 0:
                break
            codes[j, feature] += coefficient
            residual -= coefficient * phi[:, feature]
    return codes


def init_dictionary(x: torch.Tensor, m: int, generator: torch.Generator, init: str = "samples") -> torch.Tensor:
    """(K, n, d) -> (K, d, m) unit columns. ``samples``: randomly chosen samples (normalised), plus small noise so
    that repeated choices differ; ``random_unit``: random unit vectors. Interpretation: the paper does not say
    how Φ starts."""
    k, n, d = x.shape
    if init == "random_unit":
        phi = torch.randn(k, d, m, generator=generator, device=x.device, dtype=x.dtype)
        return phi / phi.norm(dim=1, keepdim=True)
    if init != "samples":
        raise ValueError(f"unknown dictionary init {init!r}: choose samples or random_unit")
    pick = torch.randint(n, (k, m), generator=generator, device=x.device)
    phi = torch.gather(x, 1, pick[:, :, None].expand(k, m, d)).transpose(1, 2)
    phi = phi / phi.norm(dim=1, keepdim=True).clamp_min(1e-12)
    phi = phi + 0.01 / math.sqrt(d) * torch.randn(phi.shape, generator=generator, device=x.device, dtype=x.dtype)
    return phi / phi.norm(dim=1, keepdim=True)


@dataclass
class LearnedDictionary:
    """Result of :func:`learn_dictionary` for a stack of K problems."""

    phi: torch.Tensor  # (K, d, m) unit columns
    lam: torch.Tensor  # (K,) the final λ of each problem
    lam_history: list[list[float]]  # λ of each problem, per round (the first entry is the initial guess)
    loss_history: list[list[float]]  # minibatch objective L(Φ; α) of each problem, every 50 iterations


def _train_round(x: torch.Tensor, phi: torch.Tensor, lam: torch.Tensor, config: CoderConfig,
                 optimiser: torch.optim.Optimizer, generator: torch.Generator, progress: bool,
                 label: str) -> list[list[float]]:
    n = x.shape[1]
    losses: list[list[float]] = []
    for iteration in tqdm(range(config.iterations), desc=label, disable=not progress, mininterval=10):
        batch = x[:, torch.randint(n, (config.batch_size,), generator=generator, device=x.device)]
        with torch.no_grad():
            codes = greedy_codes(batch, phi.detach(), lam, config.max_active)
        for _ in range(config.dictionary_steps):
            optimiser.zero_grad(set_to_none=True)
            # The L¹ term does not depend on Φ: the dictionary step minimises the reconstruction error only.
            reconstruction = (batch - codes @ phi.transpose(1, 2)).pow(2).sum(dim=(1, 2)) / config.batch_size
            reconstruction.sum().backward()
            optimiser.step()
            with torch.no_grad():
                phi /= phi.norm(dim=1, keepdim=True).clamp_min(1e-12)
        if iteration % 50 == 0 or iteration == config.iterations - 1:
            objective = reconstruction.detach() + lam * codes.sum(dim=(1, 2)) / config.batch_size
            losses.append(objective.tolist())
    return losses


def learn_dictionary(x: torch.Tensor, config: CoderConfig, dict_size: int, lam: torch.Tensor | None,
                     generator: torch.Generator, progress: bool = True,
                     label: str = "sparse coding") -> LearnedDictionary:
    """Minimise L(Φ; α) for a stack of problems x (K, n, d) by Appendix C's alternation; Φ is (K, d, dict_size).

    Each iteration draws a minibatch, codes it greedily with the current Φ, then takes ``dictionary_steps`` Adam
    steps on Φ for those codes (renormalising columns after each). With ``lam`` None, λ is adaptive: the first
    guess is ``adaptive_fraction`` × the average largest dot product of a sample with the initial Φ; after each
    round of ``iterations``, λ is reset to ``adaptive_fraction`` × the average max coefficient of
    ``lambda_samples`` samples coded with the current λ, until it moves by less than ``adaptive_tolerance``
    (relative, every problem) or ``adaptive_rounds`` are done. With ``lam`` given (K,), λ is fixed (Appendix H).
    """
    phi = init_dictionary(x, dict_size, generator, config.init).requires_grad_(True)
    optimiser = torch.optim.Adam([phi], lr=config.lr)
    adaptive = lam is None
    if lam is None:
        with torch.no_grad():
            lam = config.adaptive_fraction * (x[:, :config.lambda_samples] @ phi).amax(dim=2).mean(dim=1)
    lam_history, loss_history = [lam.tolist()], []
    for round_index in range(config.adaptive_rounds if adaptive else 1):
        name = f"{label}, λ round {round_index + 1}" if adaptive else label
        loss_history += _train_round(x, phi, lam, config, optimiser, generator, progress, name)
        if not adaptive:
            break
        with torch.no_grad():
            sample = x[:, torch.randperm(x.shape[1], generator=generator, device=x.device)[:config.lambda_samples]]
            codes = encode(sample, phi.detach(), lam, config.max_active)
            new_lam = config.adaptive_fraction * average_max_coefficient(codes)
        change = ((new_lam - lam).abs() / lam).max().item()
        lam = new_lam
        lam_history.append(lam.tolist())
        log.info("%s: λ %s (largest relative change %.3f)", name, ", ".join(f"{v:.4g}" for v in lam.tolist()), change)
        if change < config.adaptive_tolerance:
            break
    return LearnedDictionary(phi.detach(), lam, lam_history, loss_history)


def encode(x: torch.Tensor, phi: torch.Tensor, lam: torch.Tensor, max_active: int,
           chunk: int = ENCODE_CHUNK) -> torch.Tensor:
    """α(Φ): greedy codes of every sample, (K, n, d) -> (K, n, m), ``chunk`` samples at a time.

    The result is dense: K·n·m floats (the caller bounds n).
    """
    gram = phi.transpose(1, 2) @ phi
    return torch.cat([greedy_codes(part, phi, lam, max_active, gram) for part in x.split(chunk, dim=1)], dim=1)
