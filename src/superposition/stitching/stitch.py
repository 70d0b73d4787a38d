"""SAE stitching: inserting and swapping latents of a larger SAE into a smaller one, and the stitching path.

All errors are ``mse = mean_n ||x_n − x̂_n||²`` on held-out activations (squared error per token, summed over
the h dimensions). Changing the stitched SAE's latents changes its residual r = x − x̂ by
u = Σ_{removed i} f_i d_i − Σ_{added j} f_j d_j, so a step's ΔMSE = mean_n (2 r·u + ||u||²): computed from
the codes and decoder Gram matrices of the group alone, without rebuilding the SAE (tests compare it with the
rebuilt SAE).

Interpretations (the paper leaves these open; each is in the docs page):

- A stitched SAE keeps the smaller SAE's decoder bias; the larger SAE's latents keep their own encoder bias
  folded (:mod:`~.latents`), so they fire as in their own SAE. The path's last step replaces the decoder bias by
  the larger SAE's, so that the path ends exactly at the larger SAE.
- Order of the path: every group's ΔMSE is first measured alone against the smaller SAE; the path applies the
  groups from the most negative ΔMSE to the most positive (ties by group order), each on top of the previous.
- Noise: each step's standard error is the standard deviation over tokens of its per-token change of squared
  error, over √N.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from superposition.stitching.latents import LatentSet
from superposition.stitching.matching import Group

__all__ = ["mse", "l0", "insertion_deltas", "group_deltas", "StitchingPath", "stitching_path", "stitched_sae",
           "path_order", "RISE_SIGMAS"]

RISE_SIGMAS = 2.0  # a path step raises the MSE "beyond noise" when it rises by more than 2 standard errors
CHUNK_TOKENS = 4096  # tokens per chunk: bounds the (chunk, J) code matrices


def _chunks(x: torch.Tensor) -> Iterator[torch.Tensor]:
    yield from x.split(CHUNK_TOKENS)


@torch.no_grad()
def mse(x: torch.Tensor, sae: LatentSet) -> float:
    """mean_n ||x_n − x̂_n||²: x (N, h)."""
    return float(sum((chunk - sae.reconstruct(chunk)).pow(2).sum() for chunk in _chunks(x)) / x.shape[0])


@torch.no_grad()
def l0(x: torch.Tensor, sae: LatentSet) -> float:
    """Mean number of active latents per token: x (N, h)."""
    return float(sum((sae.encode(chunk) > 0).sum() for chunk in _chunks(x)) / x.shape[0])


@torch.no_grad()
def insertion_deltas(x: torch.Tensor, small: LatentSet, large: LatentSet) -> torch.Tensor:
    """ΔMSE of inserting each latent of ``large`` alone into ``small``: x (N, h) -> (J_large,)."""
    total = torch.zeros(large.size, dtype=torch.float64)
    norms = large.w_dec.pow(2).sum(dim=1)
    for chunk in _chunks(x):
        residual = chunk - small.reconstruct(chunk)
        codes = large.encode(chunk)
        total += (codes.pow(2) * norms - 2 * codes * (residual @ large.w_dec.T)).sum(dim=0).double()
    return (total / x.shape[0]).float()


def _group_parts(group: Group, small: LatentSet, large: LatentSet, small_codes: torch.Tensor,
                 large_codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(signed codes a·f (N, g), decoder rows (g, h)) of a group: removed latents +f, added latents −f."""
    s, g = list(group.small), list(group.large)
    codes = torch.cat([small_codes[:, s], -large_codes[:, g]], dim=1)
    return codes, torch.cat([small.w_dec[s], large.w_dec[g]])


@torch.no_grad()
def group_deltas(x: torch.Tensor, small: LatentSet, large: LatentSet, groups: list[Group]) -> torch.Tensor:
    """ΔMSE of applying each group alone to ``small`` (remove its smaller latents, add its larger ones): (G,).

    Groups of one latent (novel and removed latents, most of them) are computed for all latents at once; only the
    groups with latents of both SAEs loop."""
    total = torch.zeros(len(groups), dtype=torch.float64)
    inserted = insertion_deltas(x, small, large).double()
    removed = _removal_deltas(x, small).double()
    mixed = []
    for index, group in enumerate(groups):
        if group.kind == "novel":
            total[index] = inserted[group.large[0]]
        elif group.kind == "removed" and len(group.small) == 1:
            total[index] = removed[group.small[0]]
        else:
            rows = torch.cat([small.w_dec[list(group.small)], large.w_dec[list(group.large)]])
            mixed.append((index, group, rows @ rows.T))
    if not mixed:
        return total.float()
    sums = torch.zeros(len(mixed), dtype=torch.float64)
    for chunk in _chunks(x):
        residual = chunk - small.reconstruct(chunk)
        small_codes, large_codes = small.encode(chunk), large.encode(chunk)
        small_proj, large_proj = residual @ small.w_dec.T, residual @ large.w_dec.T
        for position, (_, group, gram) in enumerate(mixed):
            s, g = list(group.small), list(group.large)
            codes = torch.cat([small_codes[:, s], -large_codes[:, g]], dim=1)  # (N, g): u = codes @ rows
            proj = torch.cat([small_proj[:, s], large_proj[:, g]], dim=1)  # r·d_i
            sums[position] += float(2 * (codes * proj).sum() + ((codes @ gram) * codes).sum())
    for position, (index, _, _) in enumerate(mixed):
        total[index] = sums[position] / x.shape[0]
    return total.float()


@torch.no_grad()
def _removal_deltas(x: torch.Tensor, small: LatentSet) -> torch.Tensor:
    """ΔMSE of removing each latent of ``small`` alone: mean (2 f (r·d) + f² ||d||²): (J_small,)."""
    total = torch.zeros(small.size, dtype=torch.float64)
    norms = small.w_dec.pow(2).sum(dim=1)
    for chunk in _chunks(x):
        codes = small.encode(chunk)
        residual = chunk - small.decode(codes)
        total += (2 * codes * (residual @ small.w_dec.T) + codes.pow(2) * norms).sum(dim=0).double()
    return (total / x.shape[0]).float()


def path_order(deltas: torch.Tensor) -> list[int]:
    """Groups from the most negative ΔMSE to the most positive, ties by group order."""
    return np.argsort(deltas.numpy(), kind="stable").tolist()


@dataclass(frozen=True)
class StitchingPath:
    """The SAEs along a stitching path: point 0 is the smaller SAE, each later point one more step.

    Attributes (each (steps + 1,) except ``kind`` and ``group``, which have one entry per step):
        n_latents: latents of the stitched SAE. mse: its held-out MSE. l0: its mean active latents per token.
        step_se: standard error of each point's change of MSE from the previous point (0 at point 0).
        kind: novel / removed / swap / decoder_bias. group: the group index (-1 for the decoder bias).
    """

    n_latents: np.ndarray
    mse: np.ndarray
    l0: np.ndarray
    step_se: np.ndarray
    kind: list[str]
    group: list[int]

    def significant_rises(self) -> np.ndarray:
        """(steps,) bool: the steps whose MSE rises by more than ``RISE_SIGMAS`` standard errors of that step."""
        return (self.mse[1:] - self.mse[:-1]) > RISE_SIGMAS * self.step_se[1:]


@torch.no_grad()
def stitching_path(x: torch.Tensor, small: LatentSet, large: LatentSet, groups: list[Group],
                   order: list[int]) -> StitchingPath:
    """Apply ``groups`` in ``order`` to ``small`` one after another, then the larger SAE's decoder bias; measure
    every intermediate SAE on x (N, h)."""
    steps = len(order) + 1
    sums = np.zeros(steps + 1)
    squares = np.zeros(steps + 1)
    active = np.zeros(steps + 1)
    bias_change = large.b_dec - small.b_dec
    for chunk in _chunks(x):
        small_codes, large_codes = small.encode(chunk), large.encode(chunk)
        residual = chunk - small.decode(small_codes)
        sums[0] += float(residual.pow(2).sum())
        active[0] += float((small_codes > 0).sum())
        for step, index in enumerate(order, start=1):
            group = groups[index]
            codes, rows = _group_parts(group, small, large, small_codes, large_codes)
            tokens = torch.nonzero((codes != 0).any(dim=1)).flatten()  # only these tokens' residuals change
            if tokens.numel():
                before = residual[tokens]
                after = torch.addmm(before, codes[tokens], rows)
                change = after.pow(2).sum(dim=1) - before.pow(2).sum(dim=1)
                residual[tokens] = after
                sums[step] += float(change.sum())
                squares[step] += float(change.pow(2).sum())
                active[step] += float((codes[tokens, len(group.small):] != 0).sum()
                                      - (codes[tokens, : len(group.small)] != 0).sum())
        change = (residual - bias_change).pow(2).sum(dim=1) - residual.pow(2).sum(dim=1)
        sums[steps] += float(change.sum())
        squares[steps] += float(change.pow(2).sum())
    n = x.shape[0]
    means = sums / n
    variance = np.maximum(squares / n - np.where(np.arange(steps + 1) > 0, means, 0.0) ** 2, 0.0)
    variance[0] = 0.0
    net = [groups[i].net_latents for i in order] + [0]
    return StitchingPath(n_latents=small.size + np.concatenate([[0], np.cumsum(net)]), mse=np.cumsum(means),
                         l0=np.cumsum(active) / n, step_se=np.sqrt(variance / n),
                         kind=[groups[i].kind for i in order] + ["decoder_bias"], group=list(order) + [-1])


def stitched_sae(small: LatentSet, large: LatentSet, groups: list[Group]) -> LatentSet:
    """The smaller SAE with ``groups`` applied (their smaller latents removed, larger latents added), keeping its
    decoder bias: the SAE a point of the path stands for (tests rebuild it to check the path's numbers)."""
    removed = {i for group in groups for i in group.small}
    added = sorted(i for group in groups for i in group.large)
    kept = [i for i in range(small.size) if i not in removed]
    return small.subset(kept).joined(large.subset(added))
