"""Benchmark: the vectorised greedy sparse coder vs a per-sample loop and scikit-learn's sparse coders.

Run by hand (`make benchmark`); numbers go in benchmarks/README.md. Every figure comes from one run on one machine and
is compared as a ratio. One dictionary problem is coded several ways:
  greedy          `greedy_codes`, the greedy update of Deng, Tao & Benton (2023), Appendix C, vectorised over the
                  whole batch (what the workflow does);
  greedy-loop     `greedy_codes_reference`, the same update one sample at a time (a straightforward
                  implementation), timed on a subset and extrapolated per sample; its codes are checked against
                  the vectorised coder's on that subset;
  sklearn-omp     `sklearn.decomposition.sparse_encode(algorithm='omp')`, orthogonal matching pursuit with as
                  many non-zeros per sample as the greedy coder's average N0 (codes may be negative);
  sklearn-lasso-* `sparse_encode(algorithm='lasso_lars' / 'lasso_cd', positive=True)`, the exact minimiser of the
                  same L¹-penalised objective the greedy update approximates (λ mapped below); per-sample solvers,
                  so they code a bounded subset (`--lasso-samples`).

The problem: sparse linear activations built with the recipe of `synthetic.sparse_linear` (Appendix D: 4d
ground-truth features on the unit sphere, a = 10 active on average with uniform(0, 1) coefficients, centred, noise
of variance a σ²/d per coordinate), scaled by `to_unit_mean_norm`; the dictionary Φ (d, 8d) is the 4d true
features followed by 4d random unit vectors, so a good coder can explain almost all the variance. λ follows the
paper's adaptive rule: λ = 0.1 × the average max coefficient of the greedy codes, iterated to a fixed point.

Reported per method: seconds per 1000 samples, the time ratio to the vectorised greedy coder, variance explained,
average non-zeros N0 and the objective (1/n)(||X − αΦᵀ||² + λ||α||₁).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import sklearn
import torch
from sklearn.decomposition import sparse_encode
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from superposition.feature_sparsity.coder import greedy_codes, greedy_codes_reference
from superposition.feature_sparsity.metrics import (
    average_max_coefficient,
    final_loss,
    nonzero_count,
    variance_explained,
)
from superposition.feature_sparsity.synthetic import to_unit_mean_norm, unit_sphere
from superposition.runtime import make_generator


def make_problem(n: int, d: int, active: float, features_per_dim: int, sigma: float,
                 seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(X (n, d), Φ (d, 2·features_per_dim·d)): sparse linear data and a dictionary holding its true features.

    Same recipe as `synthetic.sparse_linear`, written out here because that function does not return its
    features; Φ's second half is random unit vectors so that the coder must find the right columns.
    """
    generator = make_generator(seed)
    m_true = features_per_dim * d
    features = unit_sphere(m_true, d, generator)
    coefficients = torch.rand(n, m_true, generator=generator)
    coefficients *= torch.rand(n, m_true, generator=generator) < active / m_true
    proto = coefficients @ features
    proto -= proto.mean(dim=0)
    x = to_unit_mean_norm(proto + math.sqrt(active * sigma**2 / d) * torch.randn(n, d, generator=generator))
    phi = torch.cat([features, unit_sphere(m_true, d, generator)]).T.contiguous()
    return x, phi


def adaptive_lambda(x: torch.Tensor, phi: torch.Tensor, max_active: int, fraction: float = 0.1,
                    tolerance: float = 0.01, rounds: int = 10) -> float:
    """λ = fraction × average max coefficient of the greedy codes, iterated from the workflow's first guess
    (fraction × the average largest dot product with Φ) until it moves by less than ``tolerance`` (relative)."""
    lam = fraction * float((x @ phi).amax(dim=1).mean())
    for _ in range(rounds):
        codes = greedy_codes(x[None], phi[None], torch.tensor([lam]), max_active)[0]
        new_lam = fraction * float(average_max_coefficient(codes))
        converged = abs(new_lam - lam) < tolerance * lam
        lam = new_lam
        if converged:
            break
    return lam


Result = TypeVar("Result")


def timed(code: Callable[[], Result]) -> tuple[Result, float]:
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = code()
    return result, time.perf_counter() - start


def summary(name: str, x: torch.Tensor, phi: torch.Tensor, codes: torch.Tensor, seconds: float, lam: float,
            greedy_codes_same: torch.Tensor, greedy_seconds_per_sample: float, dtype: str,
            **extra: object) -> dict[str, object]:
    """One table row: timing per 1000 samples, ratio to the vectorised greedy coder, quality of the codes.

    ``greedy_codes_same`` are the greedy codes of the same samples, so that a method run on a subset is
    compared with the greedy coder on exactly those samples (VE's mean is taken over the subset too).
    """
    n = x.shape[0]
    return {
        "method": name, "samples": n, "dtype": dtype,
        "seconds_per_1000": round(seconds / n * 1000, 4),
        "time_ratio_to_greedy": round(seconds / n / greedy_seconds_per_sample, 1),
        "variance_explained": round(float(variance_explained(x, phi, codes)), 4),
        "n0": round(float(nonzero_count(codes)), 2),
        "objective": round(float(final_loss(x, phi, codes, lam)), 5),
        "greedy_variance_explained_same_samples": round(float(variance_explained(x, phi, greedy_codes_same)), 4),
        "greedy_objective_same_samples": round(float(final_loss(x, phi, greedy_codes_same, lam)), 5),
        **extra,
    }


def sklearn_codes(x: np.ndarray, dictionary: np.ndarray, **kwargs: object) -> tuple[torch.Tensor, int]:
    """(codes as float32, number of warnings) of `sparse_encode` in one process.

    n_jobs=1: its joblib workers would be processes, whose start-up cost would swamp the shorter timings; BLAS
    threads are capped by the caller instead. Warnings (lasso_cd's ConvergenceWarning, OMP's early stop on a
    numerically dependent atom) come once per sample: they are counted rather than printed.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", RuntimeWarning)
        codes = sparse_encode(x, dictionary, n_jobs=1, **kwargs)
    return torch.from_numpy(codes).float(), len(caught)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=128, help="embedding size d (dictionary 8d)")
    parser.add_argument("--n", type=int, default=4096, help="samples coded by the vectorised coder and OMP")
    parser.add_argument("--reference-samples", type=int, default=200,
                        help="samples coded by the per-sample greedy loop (timing extrapolated per sample)")
    parser.add_argument("--lasso-samples", type=int, default=512,
                        help="samples coded by each sklearn lasso solver (they solve one LASSO per sample)")
    parser.add_argument("--max-active", type=int, default=1024, help="greedy steps per sample at most (config)")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS/OpenMP threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (overrides --d, --n and the subset sizes): a smoke check, not a measurement")
    parser.add_argument("--output", help="also write the numbers to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.d, args.n, args.reference_samples, args.lasso_samples = 16, 256, 20, 32

    torch.set_num_threads(args.threads)
    # One cap for every native thread pool (torch's OpenMP, numpy/scipy's BLAS), so both sides get the same cores.
    with threadpool_limits(limits=args.threads):
        results = run(args)
    columns = {"method": ("method", 20), "samples": ("n", 6), "dtype": ("dtype", 8),
               "seconds_per_1000": ("s/1000", 9), "time_ratio_to_greedy": ("×greedy", 8),
               "variance_explained": ("VE", 7), "n0": ("N0", 6), "objective": ("objective", 9),
               "greedy_variance_explained_same_samples": ("greedy VE", 9),
               "greedy_objective_same_samples": ("greedy obj", 10)}
    print(json.dumps({key: value for key, value in results.items() if key != "methods"}))
    print("  ".join(f"{title:>{width}}" for title, width in columns.values()))
    for row in results["methods"]:
        print("  ".join(f"{row[key]!s:>{width}}" for key, (_, width) in columns.items()))
    print("greedy VE/obj: the vectorised greedy codes of the same samples (rows coded on a subset).")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


def run(args: argparse.Namespace) -> dict[str, object]:
    """Build the problem, time every method on it and check the greedy loop against the vectorised coder."""
    x, phi = make_problem(args.n, args.d, active=10, features_per_dim=4, sigma=0.1, seed=args.seed)
    lam = adaptive_lambda(x, phi, args.max_active)
    lam_tensor = torch.tensor([lam])

    # Vectorised greedy coder: the whole batch as a stack of one problem; warm-up on a slice first.
    greedy_codes(x[None, :64], phi[None], lam_tensor, args.max_active)
    greedy, greedy_seconds = timed(lambda: greedy_codes(x[None], phi[None], lam_tensor, args.max_active)[0])
    per_sample = greedy_seconds / args.n
    # Untimed: samples whose greedy update was still going at its last allowed step (cut by max_active, not
    # stopped by a coefficient ≤ 0); their cost is bounded by max_active, so the timing depends on it.
    cut = int((greedy != greedy_codes(x[None], phi[None], lam_tensor, args.max_active - 1)[0]).any(dim=1).sum())
    rows = [summary("greedy", x, phi, greedy, greedy_seconds, lam, greedy, per_sample, "float32",
                    samples_cut_at_max_active=cut)]

    # Per-sample loop on a subset (float32 like the vectorised run, so the timings compare like for like).
    ref_n = min(args.reference_samples, args.n)
    x_ref = x[:ref_n]
    greedy_codes_reference(x_ref[:2], phi, lam, args.max_active)  # warm-up
    reference, reference_seconds = timed(lambda: greedy_codes_reference(x_ref, phi, lam, args.max_active))
    rows.append(summary("greedy-loop", x_ref, phi, reference, reference_seconds, lam, greedy[:ref_n], per_sample,
                        "float32"))
    # Same codes? float32: the vectorised coder updates Φᵀr through the Gram matrix while the loop recomputes it,
    # so rounding differs and a near-tie can pick another feature; float64 shows whether the algorithms agree.
    x64, phi64 = x_ref.double(), phi.double()
    vectorised64 = greedy_codes(x64[None], phi64[None], lam_tensor.double(), args.max_active)[0]
    reference64 = greedy_codes_reference(x64, phi64, lam, args.max_active)
    check = {
        "samples": ref_n,
        "float32_max_abs_diff": float((greedy[:ref_n] - reference).abs().max()),
        "float32_samples_with_other_support": int(((greedy[:ref_n] != 0) != (reference != 0)).any(dim=1).sum()),
        "float64_max_abs_diff": float((vectorised64 - reference64).abs().max()),
        "float64_samples_with_other_support": int(((vectorised64 != 0) != (reference64 != 0)).any(dim=1).sum()),
    }

    # scikit-learn: dictionary is (n_components, n_features) = Φᵀ, X is (n_samples, n_features). OMP runs in
    # float32 like the greedy coder. n_nonzero_coefs = N0 gives it the greedy coder's average budget per sample.
    x_np, dictionary = x.numpy(), np.ascontiguousarray(phi.T.numpy())
    n0 = max(1, round(float(nonzero_count(greedy))))
    sklearn_codes(x_np[:16], dictionary, algorithm="omp", n_nonzero_coefs=n0)  # warm-up (imports, BLAS)
    (omp, omp_warnings), omp_seconds = timed(
        lambda: sklearn_codes(x_np, dictionary, algorithm="omp", n_nonzero_coefs=n0))
    rows.append(summary(f"sklearn-omp k={n0}", x, phi, omp, omp_seconds, lam, greedy, per_sample, "float32",
                        warnings=omp_warnings))

    # λ mapping: sparse_encode's lasso solves, per sample, min_u ½||x − u D||² + alpha ||u||₁ (it passes
    # alpha / n_features to Lasso/LassoLars, whose data term is (1/(2·n_features))||·||², undoing that scaling).
    # Our objective per sample is ||x − αΦᵀ||² + λ||α||₁ = 2 (½||x − αΦᵀ||² + (λ/2)||α||₁), the same minimiser
    # as alpha = λ/2 (also the greedy step's threshold: coefficient = r·f − λ/2).
    # float64 (sklearn's default): sparse_encode hard-codes lasso_cd's tol=1e-8, which float32 cannot reach, so
    # in float32 nearly every sample would run to max_iter and the timing would measure that instead.
    lasso_n = min(args.lasso_samples, args.n)
    x64_np, dictionary64 = x_np[:lasso_n].astype(np.float64), dictionary.astype(np.float64)
    for algorithm in ("lasso_lars", "lasso_cd"):
        (codes, caught), seconds = timed(lambda: sklearn_codes(x64_np, dictionary64, algorithm=algorithm,
                                                               alpha=lam / 2, positive=True))
        rows.append(summary(f"sklearn-{algorithm}", x[:lasso_n], phi, codes, seconds, lam, greedy[:lasso_n],
                            per_sample, "float64", warnings=caught))

    return {
        "torch": torch.__version__, "sklearn": sklearn.__version__, "threads": args.threads,
        "d": args.d, "m": phi.shape[1], "n": args.n, "active": 10, "sigma": 0.1, "lambda": round(lam, 6),
        "max_active": args.max_active, "quick": args.quick, "reference_check": check, "methods": rows,
    }


if __name__ == "__main__":
    main()
