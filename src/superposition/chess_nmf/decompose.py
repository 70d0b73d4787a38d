"""NMF, SVD and PCA of an activation matrix A (n, d), in torch (CPU or GPU), and the metrics that compare them.

Every method writes A ≈ C F (+ mean for PCA) with coefficients C (n, k) and factors F (k, d) (the survey's
notation, §3.1). NMF solvers (both minimise ½‖A − CF‖²_F subject to C, F ≥ 0):

* ``mu`` — Lee & Seung's multiplicative updates, C ← C ⊙ (A Fᵀ) / (C F Fᵀ), then F ← F ⊙ (Cᵀ A) / (Cᵀ C F);
  four matrix products per iteration, so it runs well on a GPU; the same updates as scikit-learn's
  ``solver="mu"``.
* ``hals`` — hierarchical alternating least squares (Cichocki & Phan 2009): exact non-negative
  least-squares updates of one column of C (row of F) at a time; the same updates as scikit-learn's
  ``solver="cd"`` (without shuffling).

Initialisation: ``nndsvd`` is NNDSVDa (Boutsidis & Gallopoulos 2008; zeros filled with the mean of A so that
multiplicative updates can move them), deterministic; ``random`` is seeded uniform scaled to A's mean.
After fitting, each factor is scaled to unit norm (C absorbs the scale) and factors are sorted by their total
coefficient, so results do not depend on the arbitrary order and scale.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from superposition.chess_nmf.config import ChessDecomposeConfig
from superposition.chess_nmf.store import save_tensors, write_json
from superposition.lm.activations import ActivationReader
from superposition.runtime import resolve_device

__all__ = ["NMFResult", "nndsvd", "random_init", "nmf", "svd", "pca", "frobenius_error", "relative_error",
           "fraction_variance_explained", "nestedness", "normalise_factors", "load_activation_matrix",
           "decompose_block"]

log = logging.getLogger(__name__)

_EPS = 1e-12


@dataclass
class NMFResult:
    """C (n, k) ≥ 0, F (k, d) ≥ 0, the objective ‖A − CF‖_F after each iteration, and the iterations run."""

    C: torch.Tensor
    F: torch.Tensor
    errors: list[float]
    iterations: int


def nndsvd(A: torch.Tensor, k: int, usv: tuple[torch.Tensor, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """NNDSVDa initialisation (n, k), (k, d) of a non-negative A (n, d), following scikit-learn's ``_initialize_nmf``.

    ``usv``: A's thin SVD (U, S, Vh) if already computed."""
    U, S, Vh = usv if usv is not None else torch.linalg.svd(A.double(), full_matrices=False)
    n, d = A.shape
    W = torch.zeros(n, k, dtype=torch.float64, device=A.device)
    H = torch.zeros(k, d, dtype=torch.float64, device=A.device)
    W[:, 0] = S[0].sqrt() * U[:, 0].abs()
    H[0] = S[0].sqrt() * Vh[0].abs()
    for j in range(1, k):
        x, y = U[:, j], Vh[j]
        xp, xn, yp, yn = x.clamp_min(0), (-x).clamp_min(0), y.clamp_min(0), (-y).clamp_min(0)
        xpn, ypn, xnn, ynn = xp.norm(), yp.norm(), xn.norm(), yn.norm()
        m_pos, m_neg = xpn * ypn, xnn * ynn
        if m_pos > m_neg:
            u, v, sigma = xp / xpn, yp / ypn, m_pos
        else:
            u, v, sigma = xn / xnn, yn / ynn, m_neg
        lbd = (S[j] * sigma).sqrt()
        W[:, j], H[j] = lbd * u, lbd * v
    W[W < 1e-6] = 0
    H[H < 1e-6] = 0
    mean = A.double().mean()
    W[W == 0], H[H == 0] = mean, mean  # the "a" of NNDSVDa
    return W.to(A.dtype), H.to(A.dtype)


def random_init(A: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded uniform initialisation scaled as scikit-learn's ``init="random"`` (sqrt(mean(A) / k))."""
    generator = torch.Generator().manual_seed(seed)
    scale = math.sqrt(float(A.mean()) / k)
    C = scale * torch.rand(A.shape[0], k, generator=generator, dtype=torch.float64).abs()
    F = scale * torch.rand(k, A.shape[1], generator=generator, dtype=torch.float64).abs()
    return C.to(A.dtype).to(A.device), F.to(A.dtype).to(A.device)


def _error(norm_a2: float, C: torch.Tensor, AF: torch.Tensor, CC: torch.Tensor, FF: torch.Tensor) -> float:
    # ‖A − CF‖² = ‖A‖² − 2⟨C, A Fᵀ⟩ + ⟨Cᵀ C, F Fᵀ⟩: no (n, d) residual is formed.
    return math.sqrt(max(norm_a2 - 2 * float((C.double() * AF.double()).sum()) + float((CC.double() * FF).sum()), 0.0))


def nmf(A: torch.Tensor, k: int, method: str = "mu", init: tuple[torch.Tensor, torch.Tensor] | None = None,
        max_iter: int = 200, tol: float = 1e-4) -> NMFResult:
    """NMF of A (n, d) ≥ 0 at rank k from ``init`` (default NNDSVDa); stops when the relative decrease of
    ‖A − CF‖_F over one iteration is below ``tol``. Factors are returned unnormalised (see normalise_factors)."""
    if float(A.min()) < 0:
        raise ValueError(f"NMF needs a non-negative matrix; its minimum is {float(A.min())}")
    C, F = (t.clone() for t in (init if init is not None else nndsvd(A, k)))
    norm_a2 = float((A.double() ** 2).sum())
    errors: list[float] = []
    iteration = 0
    CC = C.T @ C  # (k, k); afterwards kept from the F update, where C is already the current one
    while True:
        AF, FF = A @ F.T, F @ F.T  # (n, k), (k, k)
        errors.append(_error(norm_a2, C, AF, CC, FF))  # of the current (C, F), reusing this update's products
        converged = len(errors) > 1 and (errors[-2] - errors[-1]) / max(errors[-2], _EPS) < tol
        if converged or iteration == max_iter:
            break
        iteration += 1
        if method == "mu":
            C *= AF / (C @ FF).clamp_min(_EPS)
        elif method == "hals":
            for j in range(k):
                C[:, j] = (C[:, j] + (AF[:, j] - C @ FF[:, j]) / FF[j, j].clamp_min(_EPS)).clamp_min(0)
        else:
            raise ValueError(f"unknown NMF method {method!r}: choose mu or hals")
        CA, CC = C.T @ A, C.T @ C  # (k, d), (k, k)
        if method == "mu":
            F *= CA / (CC @ F).clamp_min(_EPS)
        else:
            for j in range(k):
                F[j] = (F[j] + (CA[j] - CC[j] @ F) / CC[j, j].clamp_min(_EPS)).clamp_min(0)
    return NMFResult(C, F, errors, iteration)


def normalise_factors(C: torch.Tensor, F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit-norm factors (C scaled to compensate), sorted by total coefficient, descending."""
    norms = F.norm(dim=1).clamp_min(_EPS)
    C, F = C * norms, F / norms[:, None]
    order = torch.argsort(C.sum(0), descending=True, stable=True)
    return C[:, order], F[order]


def _sign_fix(F: torch.Tensor) -> torch.Tensor:
    """+1/−1 per row, making each row's largest-magnitude entry positive (a deterministic SVD sign)."""
    sign = torch.sign(F.gather(1, F.abs().argmax(dim=1, keepdim=True)).squeeze(1))
    sign[sign == 0] = 1
    return sign


def svd(A: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Truncated SVD (float64): C = U_k Σ_k (n, k), F = V_kᵀ (k, d), and all singular values (min(n, d),).

    By Eckart–Young, CF is the best rank-k approximation of A in Frobenius norm; signs are fixed so each
    factor's largest entry is positive."""
    U, S, Vh = torch.linalg.svd(A.double(), full_matrices=False)
    F = Vh[:k]
    sign = _sign_fix(F)
    return (U[:, :k] * S[:k] * sign), F * sign[:, None], S


def pca(A: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PCA: SVD of the centred matrix. Returns C (n, k), F (k, d) and the mean μ (d,), A ≈ μ + CF."""
    mean = A.double().mean(0)
    C, F, _ = svd(A.double() - mean, k)
    return C, F, mean


def frobenius_error(A: torch.Tensor, C: torch.Tensor, F: torch.Tensor, mean: torch.Tensor | None = None,
                    chunk: int = 65536) -> float:
    """‖A − (μ) − CF‖_F, in row chunks (float64)."""
    total = 0.0
    for first in range(0, A.shape[0], chunk):
        approx = C[first:first + chunk].double() @ F.double()
        if mean is not None:
            approx = approx + mean.double()
        total += float(((A[first:first + chunk].double() - approx) ** 2).sum())
    return math.sqrt(total)


def relative_error(A: torch.Tensor, error: float) -> float:
    """‖A − Â‖_F / ‖A‖_F."""
    return error / max(float(A.double().norm()), _EPS)


def fraction_variance_explained(A: torch.Tensor, error: float) -> float:
    """FVE = 1 − ‖A − Â‖²_F / ‖A − 1μᵀ‖²_F, μ the column means of A (the same denominator for every method)."""
    centred = float(((A.double() - A.double().mean(0)) ** 2).sum())
    return 1.0 - error ** 2 / max(centred, _EPS)


def nestedness(F_small: torch.Tensor, F_large: torch.Tensor) -> dict[str, float]:
    """How far the k factors F_small (k, d) reappear among the k' ≥ k factors F_large (k', d).

    ``mmcs``: mean over the k factors of the maximum |cosine| with any factor of F_large; ``hungarian``: mean
    |cosine| of a one-to-one matching that maximises the total (Hungarian algorithm). Both are 1 exactly when
    every small factor is (up to sign) one of the large ones, as for SVD's nested components."""
    a = F_small.double() / F_small.double().norm(dim=1, keepdim=True).clamp_min(_EPS)
    b = F_large.double() / F_large.double().norm(dim=1, keepdim=True).clamp_min(_EPS)
    cos = (a @ b.T).abs().cpu().numpy()  # (k, k')
    rows, cols = linear_sum_assignment(-cos)
    return {"mmcs": float(cos.max(axis=1).mean()), "hungarian": float(np.mean(cos[rows, cols]))}


def load_activation_matrix(folder: Path | str) -> tuple[torch.Tensor, dict[str, Any]]:
    """A cached block as one float32 matrix (rows, d), checksums verified, and its manifest."""
    reader = ActivationReader(folder)
    return torch.cat(list(reader.iter_shards())), reader.manifest


def _metrics(A: torch.Tensor, error: float) -> dict[str, float]:
    return {"frobenius_error": error, "relative_error": relative_error(A, error),
            "fraction_variance_explained": fraction_variance_explained(A, error)}


def decompose_block(activation_dir: Path | str, config: ChessDecomposeConfig, device: str, tensors_path: Path | str,
                    metrics_path: Path | str) -> dict[str, Any]:
    """Stage: NMF, SVD and PCA of one cached block at rank k (and the sweep ranks on sweep blocks).

    Writes C and F of every method at rank k (C as float16 to halve the cache), the sweep's factors, and a
    JSON of errors, FVE, non-negativity and nestedness."""
    torch_device = resolve_device(device)
    A, manifest = load_activation_matrix(activation_dir)
    A = A.to(torch_device)
    block = int(manifest["block"])
    ks = sorted({config.k, *(config.sweep_ks if block in config.sweep_blocks else ())})
    usv = torch.linalg.svd(A.double(), full_matrices=False)
    U, S, Vh = usv
    mean = A.double().mean(0)
    centred_s = torch.linalg.svdvals(A.double() - mean)
    tensors: dict[str, torch.Tensor] = {}
    result: dict[str, Any] = {"block": block, "network": manifest.get("network"), "rows": A.shape[0],
                              "d": A.shape[1], "ks": ks, "sweep": block in config.sweep_blocks, "nmf": {}, "svd": {},
                              "pca": {}, "singular_values": S.tolist(), "config": asdict(config),
                              "activations_positions_sha256": manifest.get("positions_sha256"),
                              "network_sha256": manifest.get("network_sha256")}
    factors: dict[str, dict[int, torch.Tensor]] = {"nmf": {}, "svd": {}, "pca": {}}
    for k in ks:
        start = time.perf_counter()
        init = nndsvd(A, k, usv) if config.nmf_init == "nndsvd" else random_init(A, k, config.seed + k)
        fit = nmf(A, k, config.nmf_method, init, config.max_iter, config.tol)
        C, F = normalise_factors(fit.C, fit.F)
        error = frobenius_error(A, C, F)
        result["nmf"][str(k)] = {**_metrics(A, error), "iterations": fit.iterations, "min_C": float(C.min()),
                                 "min_F": float(F.min())}  # no timings: same inputs, same bytes
        log.info("block %d NMF k=%d: %d iterations, FVE %.4f (%.1f s)", block, k, fit.iterations,
                 result["nmf"][str(k)]["fraction_variance_explained"], time.perf_counter() - start)
        sign = _sign_fix(Vh[:k])
        svd_F, svd_C = Vh[:k] * sign[:, None], None
        svd_error = float(S[k:].pow(2).sum().sqrt())  # Eckart–Young: the discarded singular values
        result["svd"][str(k)] = _metrics(A, svd_error)
        pca_error = float(centred_s[k:].pow(2).sum().sqrt())
        result["pca"][str(k)] = _metrics(A, pca_error)
        factors["nmf"][k], factors["svd"][k] = F.cpu(), svd_F.cpu()
        if k == config.k:
            svd_C = U[:, :k] * S[:k] * sign
            pca_C, pca_F, _ = pca(A, k)
            factors["pca"][k] = pca_F.cpu()
            tensors.update({"nmf_C": C.half().cpu(), "nmf_F": F.float().cpu(), "svd_C": svd_C.half().cpu(),
                            "svd_F": svd_F.float().cpu(), "pca_C": pca_C.half().cpu(), "pca_F": pca_F.float().cpu(),
                            "pca_mean": mean.float().cpu()})
        tensors[f"nmf_F_k{k}"], tensors[f"svd_F_k{k}"] = F.float().cpu().clone(), svd_F.float().cpu().clone()
    result["nestedness"] = {
        method: [{"k": a, "k_next": b, **nestedness(factors[method][a], factors[method][b])}
                 for a, b in zip(ks, ks[1:])] for method in ("nmf", "svd")}
    save_tensors(tensors, tensors_path, {"block": block, "network": manifest.get("network"),
                                         "positions_sha256": manifest.get("positions_sha256")})
    write_json(metrics_path, result)
    return result
