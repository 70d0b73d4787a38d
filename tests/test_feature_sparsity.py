"""Feature sparsity (Deng, Tao & Benton 2023): the greedy coder, the four metrics, the synthetic generators."""

from __future__ import annotations

import math

import pytest
import torch

from superposition.feature_sparsity import metrics, synthetic
from superposition.feature_sparsity.coder import (
    encode,
    greedy_codes,
    greedy_codes_reference,
    init_dictionary,
    learn_dictionary,
)
from superposition.feature_sparsity.config import CoderConfig


def _unit_columns(d: int, m: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    phi = torch.randn(d, m, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return phi / phi.norm(dim=0)


def _equal_coefficient_problem(c: float = 0.7, n: int = 64, d: int = 12, seed: int = 0):
    """Orthonormal dictionary, every non-zero coefficient c, x = Φα exactly: (x, Φ, α, active counts)."""
    generator = torch.Generator().manual_seed(seed)
    phi = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))[0]
    support = torch.rand(n, d, generator=generator, dtype=torch.float64) < 0.3
    support[:, 0] = True  # every sample has at least one active feature
    codes = c * support.to(torch.float64)
    return codes @ phi.T, phi, codes, support.sum(dim=1).to(torch.float64)


# ---- metrics: known answers -------------------------------------------------------------------------------------

def test_equal_coefficients_make_s1_n0_and_normalized_loss_the_active_count():
    x, phi, codes, active = _equal_coefficient_problem()
    lam = 0.05
    assert metrics.nonzero_count(codes).item() == pytest.approx(active.mean().item())
    assert metrics.average_coefficient_norm(codes).item() == pytest.approx(active.mean().item())
    assert metrics.reconstruction_error(x, phi, codes).item() == pytest.approx(0.0, abs=1e-20)
    # A perfect reconstruction: L = λ||α||₁/n, so L_norm = S₁ = the average number of active features.
    assert metrics.normalized_loss(x, phi, codes, lam).item() == pytest.approx(active.mean().item())
    assert metrics.final_loss(x, phi, codes, lam).item() == pytest.approx(lam * 0.7 * active.mean().item())
    assert metrics.variance_explained(x, phi, codes).item() == pytest.approx(1.0)


def test_s_p_with_equal_coefficients_is_the_active_count_for_every_p():
    _, _, codes, active = _equal_coefficient_problem(c=2.5)
    for p in (0.5, 1.0, 2.0):
        assert metrics.average_coefficient_norm(codes, p).item() == pytest.approx(active.mean().item())


def test_average_coefficient_norm_and_max_by_hand():
    codes = torch.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 0.0]])
    assert metrics.average_max_coefficient(codes).item() == pytest.approx(2.5)
    assert metrics.average_coefficient_norm(codes).item() == pytest.approx(3.0 / 2.5)  # mean L1 (4+2)/2 = 3
    assert metrics.average_coefficient_norm(codes, 2).item() == pytest.approx(7.0 / 6.25)  # (10+4)/2 / 2.5²
    assert metrics.nonzero_count(codes).item() == pytest.approx(1.5)


def test_scaling_the_data_by_ten_leaves_s_p_and_normalized_loss_unchanged():
    x, phi, codes, _ = _equal_coefficient_problem()
    codes = codes * torch.rand(codes.shape, generator=torch.Generator().manual_seed(1), dtype=codes.dtype)
    x = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2), dtype=x.dtype)  # imperfect
    lam = 0.1
    for p in (1.0, 2.0):
        assert metrics.average_coefficient_norm(10 * codes, p).item() == pytest.approx(
            metrics.average_coefficient_norm(codes, p).item())
    assert metrics.normalized_loss(10 * x, phi, 10 * codes, 10 * lam).item() == pytest.approx(
        metrics.normalized_loss(x, phi, codes, lam).item())
    # The final loss is not scale invariant: it grows with the square of the scale.
    assert metrics.final_loss(10 * x, phi, 10 * codes, 10 * lam).item() == pytest.approx(
        100 * metrics.final_loss(x, phi, codes, lam).item())


def test_greedy_codes_are_scale_equivariant_so_the_metrics_are_invariant_end_to_end():
    x = torch.randn(2, 50, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    phi = _unit_columns(8, 24, 4)[None].expand(2, 8, 24)
    lam = torch.tensor([0.3, 0.3], dtype=torch.float64)
    codes = greedy_codes(x, phi, lam, 100)
    scaled = greedy_codes(10 * x, phi, 10 * lam, 100)
    torch.testing.assert_close(scaled, 10 * codes)
    torch.testing.assert_close(metrics.normalized_loss(10 * x, phi, scaled, 10 * lam),
                               metrics.normalized_loss(x, phi, codes, lam))


# ---- the greedy code update ------------------------------------------------------------------------------------

def test_vectorised_greedy_equals_the_per_sample_reference():
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(3, 40, 10, generator=generator, dtype=torch.float64)
    phi = torch.stack([_unit_columns(10, 30, seed) for seed in (6, 7, 8)])
    lam = torch.tensor([0.05, 0.4, 1.5], dtype=torch.float64)
    codes = greedy_codes(x, phi, lam, max_active=60)
    for k in range(3):
        reference = greedy_codes_reference(x[k], phi[k], float(lam[k]), max_active=60)
        torch.testing.assert_close(codes[k], reference, atol=1e-10, rtol=0)
    assert (codes[0] > 0).sum() > (codes[2] > 0).sum()  # a larger λ codes fewer features


def test_greedy_with_an_orthonormal_dictionary_is_a_nonnegative_soft_threshold():
    # Each step takes the largest remaining coordinate, whose coefficient is x_i − λ/2; the first coefficient
    # ≤ 0 stops it, so the codes are max(x_i − λ/2, 0) for every coordinate.
    x = torch.tensor([[[0.9, -0.4, 0.3, 0.05], [0.1, 0.2, -1.0, 2.0]]], dtype=torch.float64)
    phi = torch.eye(4, dtype=torch.float64)[None]
    codes = greedy_codes(x, phi, torch.tensor([0.2], dtype=torch.float64), max_active=10)
    torch.testing.assert_close(codes[0], (x[0] - 0.1).clamp_min(0))


def test_max_active_caps_the_greedy_steps():
    x = torch.ones(1, 1, 4, dtype=torch.float64)
    codes = greedy_codes(x, torch.eye(4, dtype=torch.float64)[None], torch.tensor([0.0], dtype=torch.float64), 2)
    assert int((codes > 0).sum()) == 2


def test_encode_in_chunks_equals_one_batch():
    x = torch.randn(1, 70, 6, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    phi = _unit_columns(6, 20, 10)[None]
    lam = torch.tensor([0.2], dtype=torch.float64)
    torch.testing.assert_close(encode(x, phi, lam, 30, chunk=16), greedy_codes(x, phi, lam, 30))


def test_init_dictionary_has_unit_columns():
    x = torch.randn(2, 30, 5, generator=torch.Generator().manual_seed(11))
    phi = init_dictionary(x, 12, torch.Generator().manual_seed(12))
    assert phi.shape == (2, 5, 12)
    torch.testing.assert_close(phi.norm(dim=1), torch.ones(2, 12))


def _coder(**overrides) -> CoderConfig:
    values = dict(iterations=150, batch_size=128, dictionary_steps=1, lr=0.01, max_active=64, adaptive_rounds=3,
                  adaptive_fraction=0.1, adaptive_tolerance=0.05, lambda_samples=256, seed=0, init="samples")
    return CoderConfig(**{**values, **overrides})


def test_learned_dictionary_recovers_sparse_structure_and_adaptive_lambda_settles():
    generator = torch.Generator().manual_seed(13)
    d = 16
    sparse = synthetic.to_unit_mean_norm(synthetic.sparse_linear(2048, d, 2.0, 2, 0.05, generator))
    gaussian = synthetic.to_unit_mean_norm(synthetic.gaussian(2048, d, generator))
    x = torch.stack([sparse, gaussian])
    learned = learn_dictionary(x, _coder(), 4 * d, None, torch.Generator().manual_seed(14), progress=False)
    torch.testing.assert_close(learned.phi.norm(dim=1), torch.ones(2, 4 * d))
    assert 2 <= len(learned.lam_history) <= 4
    codes = encode(x, learned.phi, learned.lam, 64, 512)
    s1 = metrics.average_coefficient_norm(codes)
    assert s1[0] < 0.6 * s1[1]  # sparse linear data is far sparser than the Gaussian under the same procedure
    first, last = learned.loss_history[0][0], learned.loss_history[-1][0]
    assert last < first


def test_fixed_lambda_is_kept():
    x = torch.randn(1, 256, 8, generator=torch.Generator().manual_seed(15))
    learned = learn_dictionary(x, _coder(iterations=5), 16, torch.tensor([0.25]), torch.Generator().manual_seed(1),
                               progress=False)
    assert learned.lam.tolist() == [0.25] and learned.lam_history == [[0.25]]


# ---- synthetic data (Appendix D) --------------------------------------------------------------------------------

def test_sparse_coefficients_have_a_active_on_average_with_mean_weight_one_half():
    coefficients = synthetic.sparse_coefficients(20000, 64, 5.0, torch.Generator().manual_seed(16))
    active = (coefficients > 0).sum(dim=1).float()
    assert active.mean().item() == pytest.approx(5.0, rel=0.03)
    # The "correct" metric value a/2: the expected summed weight of the active features.
    assert coefficients.sum(dim=1).mean().item() == pytest.approx(2.5, rel=0.03)
    assert coefficients.max() <= 1 and coefficients.min() >= 0


def test_sparse_linear_is_centred_before_noise_and_has_the_expected_power():
    d, a, sigma = 32, 4.0, 0.1
    x = synthetic.sparse_linear(20000, d, a, 4, sigma, torch.Generator().manual_seed(17))
    assert x.mean(dim=0).abs().max().item() < 0.02
    # Signal power E||Σ αᵢfᵢ||² − ||mean||² ≈ a·E[u²] − (a/2)²·E||f̄||² ≈ a/3 (unit f, small mean), plus noise aσ².
    assert x.pow(2).sum(dim=1).mean().item() == pytest.approx(a / 3 + a * sigma**2, rel=0.08)


def test_sparse_linear_rejects_impossible_activity():
    with pytest.raises(ValueError, match="active features"):
        synthetic.sparse_linear(10, 4, 17.0, 4, 0.1, torch.Generator())


@pytest.mark.parametrize("make", [synthetic.gaussian, synthetic.rademacher, synthetic.heavy_tailed])
def test_controls_have_identity_covariance(make):
    d = 8
    x = make(40000, d, torch.Generator().manual_seed(18)).double()
    covariance = x.T @ x / x.shape[0]
    assert torch.trace(covariance).item() == pytest.approx(d, rel=0.05 if make is synthetic.gaussian else 1e-6
                                                           if make is synthetic.heavy_tailed else 1e-9)
    if make is not synthetic.heavy_tailed:  # the heavy-tailed sample covariance is dominated by a few samples
        torch.testing.assert_close(covariance, torch.eye(d, dtype=torch.float64), atol=0.05, rtol=0)


def test_heavy_tailed_norms_are_cauchy_and_directions_isotropic():
    x = synthetic.heavy_tailed(40000, 8, torch.Generator().manual_seed(19))
    norms = x.norm(dim=1)
    ratio = (norms.quantile(0.75) / norms.median()).item()
    assert ratio == pytest.approx(math.tan(3 * math.pi / 8) / 1.0, rel=0.05)  # |Cauchy|: Q(0.75)/Q(0.5)=tan(3π/8)
    directions = x / norms[:, None]
    torch.testing.assert_close(directions.mean(dim=0), torch.zeros(8), atol=0.02, rtol=0)


def test_rademacher_values_are_plus_minus_one():
    x = synthetic.rademacher(100, 5, torch.Generator().manual_seed(20))
    assert set(x.unique().tolist()) == {-1.0, 1.0}


def test_to_unit_mean_norm():
    x = synthetic.to_unit_mean_norm(5 + 3 * torch.randn(500, 6, generator=torch.Generator().manual_seed(21)))
    torch.testing.assert_close(x.mean(dim=0), torch.zeros(6), atol=1e-5, rtol=0)
    assert x.norm(dim=1).mean().item() == pytest.approx(1.0)
