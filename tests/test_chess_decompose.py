"""NMF, SVD, PCA and their metrics: scikit-learn and numpy as references, hand-built known answers."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _initialize_nmf

from superposition.chess_nmf.decompose import (fraction_variance_explained, frobenius_error, nestedness, nmf, nndsvd,
                                               normalise_factors, pca, random_init, relative_error, svd)


def _matrix(n=300, d=16, rank=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ((torch.rand(n, rank, generator=g) ** 3) @ torch.rand(rank, d, generator=g)
            + 0.01 * torch.rand(n, d, generator=g)).double()


def test_nndsvd_matches_scikit_learn():
    A = _matrix()
    W, H = _initialize_nmf(A.numpy(), 4, init="nndsvda")
    C, F = nndsvd(A, 4)
    np.testing.assert_allclose(C.numpy(), W, atol=1e-10)
    np.testing.assert_allclose(F.numpy(), H, atol=1e-10)


@pytest.mark.parametrize("method,solver", [("mu", "mu"), ("hals", "cd")])
@pytest.mark.parametrize("init", ["nndsvd", "random"])
def test_nmf_objective_within_one_percent_of_scikit_learn(method, solver, init):
    A = _matrix()
    C0, F0 = nndsvd(A, 4) if init == "nndsvd" else random_init(A, 4, seed=7)
    ours = nmf(A, 4, method, (C0, F0), max_iter=300, tol=0)
    kwargs = {"shuffle": False} if solver == "cd" else {}
    reference = NMF(4, init="custom", solver=solver, max_iter=300, tol=0, **kwargs)
    reference.fit_transform(A.numpy(), W=C0.numpy().copy(), H=F0.numpy().copy())
    error = frobenius_error(A, ours.C, ours.F)
    assert error == pytest.approx(reference.reconstruction_err_, rel=0.01)
    assert ours.errors[-1] == pytest.approx(error, rel=1e-6)  # the tracked objective is the true one
    assert float(ours.C.min()) >= 0 and float(ours.F.min()) >= 0


def test_nmf_refuses_negative_input():
    with pytest.raises(ValueError, match="non-negative"):
        nmf(torch.tensor([[1.0, -1.0]]), 1)


def test_normalise_factors_keeps_the_product():
    A = _matrix()
    fit = nmf(A, 3, "mu", max_iter=20)
    C, F = normalise_factors(fit.C, fit.F)
    torch.testing.assert_close(C @ F, fit.C @ fit.F)
    torch.testing.assert_close(F.norm(dim=1), torch.ones(3, dtype=F.dtype))
    assert torch.all(C.sum(0)[:-1] >= C.sum(0)[1:])


def test_svd_matches_numpy():
    A = _matrix(d=10)
    C, F, S = svd(A, 4)
    U, s, Vh = np.linalg.svd(A.numpy(), full_matrices=False)
    np.testing.assert_allclose(S.numpy(), s, atol=1e-5)
    np.testing.assert_allclose(np.abs(F.numpy()), np.abs(Vh[:4]), atol=1e-5)
    np.testing.assert_allclose((C @ F).numpy(), (U[:, :4] * s[:4]) @ Vh[:4], atol=1e-5)
    # Eckart–Young: the error is the norm of the discarded singular values.
    assert frobenius_error(A, C, F) == pytest.approx(float(np.sqrt((s[4:] ** 2).sum())), rel=1e-8)


def test_pca_is_svd_of_the_centred_matrix():
    A = _matrix(d=8)
    C, F, mean = pca(A, 3)
    centred = A.numpy() - A.numpy().mean(0)
    s = np.linalg.svd(centred, compute_uv=False)
    np.testing.assert_allclose(mean.numpy(), A.numpy().mean(0))
    assert frobenius_error(A, C, F, mean) == pytest.approx(float(np.sqrt((s[3:] ** 2).sum())), rel=1e-8)


def test_fraction_variance_explained_known_answers():
    A = torch.tensor([[1.0, 0.0], [3.0, 0.0], [1.0, 2.0], [3.0, 2.0]])  # column variances 1 and 1, sum of squares 8
    assert fraction_variance_explained(A, 0.0) == 1.0
    assert fraction_variance_explained(A, 2.0) == pytest.approx(0.5)  # error² 4 of centred 8
    assert relative_error(A, 2.0) == pytest.approx(2.0 / np.sqrt(28.0))
    C, F, mean = pca(A, 1)
    assert fraction_variance_explained(A, frobenius_error(A, C, F, mean)) == pytest.approx(0.5)


def test_nestedness_known_answers():
    eye = torch.eye(3)
    assert nestedness(eye[:2], eye) == {"mmcs": 1.0, "hungarian": 1.0}
    assert nestedness(eye[:2], -eye[[2, 1, 0]])["hungarian"] == 1.0  # order and sign do not matter
    assert nestedness(eye[:1], eye[1:]) == {"mmcs": 0.0, "hungarian": 0.0}
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    # max |cos|: row 0 -> 1 (b1), row 1 -> 1/√2 (b0); Hungarian must pair row 0-b1, row 1-b0: same here.
    result = nestedness(a, b)
    assert result["mmcs"] == pytest.approx((1 + 2 ** -0.5) / 2)
    assert result["hungarian"] == pytest.approx((1 + 2 ** -0.5) / 2)
    both_like_first = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert nestedness(both_like_first, a)["mmcs"] == 1.0 and nestedness(both_like_first, a)["hungarian"] == 0.5


def test_svd_factors_are_nested():
    A = _matrix(d=12)
    _, F4, _ = svd(A, 4)
    _, F8, _ = svd(A, 8)
    assert nestedness(F4, F8)["hungarian"] == pytest.approx(1.0, abs=1e-10)
