"""SAE architectures: known-answer encodes on hand-built weights, hand-written gradients against autograd and
against the papers' formulas (G1–G6 of the spec), exact sparsity counts, initialisation."""

import math

import pytest
import torch

from superposition.sae import ARCHITECTURE_NAMES, ArchitectureOptions, SAEStack, get_architecture, model_seed
from superposition.sae.auxk import auxk_loss_and_gradients, dead_steps, gather_dead
from superposition.sae.batchtopk import BATCHTOPK
from superposition.sae.data_init import centred_variance, geometric_median, initial_b_dec
from superposition.sae.jumprelu import JUMPRELU, l0_warmup
from superposition.sae.relu_l1 import RELU_L1, init_sae, normalized_decoder
from superposition.sae.topk import TOPK
from tests.sae_factories import autograd_gradients, block_step, random_stack


def hand_built(architecture, w_enc, b_enc=None, b_dec=None, sparsities=(1.0,), **buffers) -> SAEStack:
    """One SAE (a stack of one) from hand-written (J, h) weights; the decoder is the identity-like encoder."""
    w_enc = torch.tensor(w_enc)[None]
    size, dim = w_enc.shape[1:]
    params = {"w_enc": w_enc, "b_enc": torch.zeros(1, size) if b_enc is None else torch.tensor([b_enc]),
              "w_dec": w_enc.clone()}
    if get_architecture(architecture).pre_encoder_bias:
        params["b_dec"] = torch.zeros(1, dim) if b_dec is None else torch.tensor([b_dec])
    if architecture == "jumprelu":
        params["log_threshold"] = torch.tensor([buffers.pop("theta")]).log()
        buffers.setdefault("input_scale", torch.ones(1))
    return SAEStack(architecture, sparsities, params, buffers)


# ---------------------------------------------------------------------------------------------- known answers

def test_relu_l1_encode_known_answer():
    stack = hand_built("relu_l1", [[1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(RELU_L1.encode(torch.tensor([[2.0, -1.0]]), stack), torch.tensor([[[2.0, 0.0]]]))
    stack = hand_built("relu_l1", [[1.0, 0.0], [0.0, 1.0]], b_enc=[-0.5, 1.5])
    torch.testing.assert_close(RELU_L1.encode(torch.tensor([[2.0, -1.0]]), stack), torch.tensor([[[1.5, 0.5]]]))


def test_relu_l1_decoder_rows_are_unit_norm_on_the_forward_pass():
    w_dec = torch.tensor([[[3.0, 4.0], [0.0, -2.0]]])  # (1, J=2, h=2)
    torch.testing.assert_close(normalized_decoder(w_dec), torch.tensor([[[0.6, 0.8], [0.0, -1.0]]]))
    stack = SAEStack("relu_l1", (0.1,), {"w_enc": w_dec, "b_enc": torch.zeros(1, 2), "w_dec": w_dec})
    reconstruction = RELU_L1.decode(torch.tensor([[[1.0, 0.0], [0.0, 2.0]]]), stack)
    torch.testing.assert_close(reconstruction, torch.tensor([[[0.6, 0.8], [0.0, -2.0]]]))


def test_relu_l1_loss_known_answer():
    # h = 2, J = 2, identity encoder and decoder: x = (2, -1) gives c = (2, 0), x̂ = (2, 0).
    stack = SAEStack("relu_l1", (0.5,), {"w_enc": torch.eye(2)[None], "b_enc": torch.zeros(1, 2),
                                         "w_dec": torch.eye(2)[None]})
    losses = RELU_L1.losses(torch.tensor([[2.0, -1.0]]), stack)
    assert losses.reconstruction.item() == pytest.approx(1.0 / 2)  # (1/h)·||(0, -1)||²
    assert losses.penalty.item() == pytest.approx(0.5 / 2 * 2.0)  # (α/J)·|c|₁


@pytest.mark.parametrize("k, expected", [(1, [0.0, 0.0, 3.0]), (2, [2.0, 0.0, 3.0]), (3, [2.0, 0.0, 3.0])])
def test_topk_encode_known_answer(k, expected):
    stack = hand_built("topk", torch.eye(3).tolist(), sparsities=(float(k),))
    torch.testing.assert_close(TOPK.encode(torch.tensor([[2.0, -1.0, 3.0]]), stack), torch.tensor([[expected]]))


def test_topk_applies_the_relu_after_choosing_and_subtracts_b_dec():
    stack = hand_built("topk", torch.eye(2).tolist(), b_dec=[1.0, 1.0], sparsities=(1.0,))
    # pre = x − b_dec = (1, 0): latent 0 kept.  For x = (0.5, 0.2), pre = (−0.5, −0.8): the top one is negative → 0.
    torch.testing.assert_close(TOPK.encode(torch.tensor([[2.0, 1.0], [0.5, 0.2]]), stack),
                               torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))
    torch.testing.assert_close(TOPK.decode(torch.tensor([[[1.0, 0.0]]]), stack), torch.tensor([[[2.0, 1.0]]]))


def test_batchtopk_keeps_k_times_batch_over_the_batch_and_thresholds_at_inference():
    stack = hand_built("batchtopk", torch.eye(3).tolist(), sparsities=(1.0,), threshold=torch.tensor([1.5]))
    x = torch.tensor([[3.0, 1.0, 0.0], [2.0, 0.5, 0.2]])
    # k·B = 2 activations over the whole batch: 3 and 2, one per sample here.
    torch.testing.assert_close(BATCHTOPK.batch_encode(x, stack), torch.tensor([[[3.0, 0.0, 0.0], [2.0, 0.0, 0.0]]]))
    x_uneven = torch.tensor([[3.0, 2.5, 0.0], [0.2, 0.1, 0.0]])  # both kept activations from sample 0
    torch.testing.assert_close(BATCHTOPK.batch_encode(x_uneven, stack),
                               torch.tensor([[[3.0, 2.5, 0.0], [0.0, 0.0, 0.0]]]))
    torch.testing.assert_close(BATCHTOPK.encode(x, stack), torch.tensor([[[3.0, 0.0, 0.0], [2.0, 0.0, 0.0]]]))
    stack.buffers["threshold"] = torch.tensor([0.4])
    torch.testing.assert_close(BATCHTOPK.encode(x, stack), torch.tensor([[[3.0, 1.0, 0.0], [2.0, 0.5, 0.0]]]))


def test_batchtopk_inference_needs_the_estimated_threshold():
    stack = hand_built("batchtopk", torch.eye(2).tolist(), threshold=torch.tensor([math.nan]))
    with pytest.raises(ValueError, match="threshold has not been estimated"):
        BATCHTOPK.encode(torch.ones(1, 2), stack)


def test_batchtopk_threshold_is_the_mean_smallest_kept_activation():
    stack = hand_built("batchtopk", torch.eye(3).tolist(), sparsities=(1.0,), threshold=torch.tensor([math.nan]))
    batches = [torch.tensor([[3.0, 1.0, 0.0], [2.0, 0.5, 0.2]]), torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.6, 0.0]])]
    BATCHTOPK.finish_training(stack, batches, ArchitectureOptions())
    assert stack.buffers["threshold"].item() == pytest.approx((2.0 + 0.6) / 2)


def test_jumprelu_encode_known_answer():
    stack = hand_built("jumprelu", torch.eye(2).tolist(), theta=[1.0, 0.5], sparsities=(0.1,))
    torch.testing.assert_close(JUMPRELU.encode(torch.tensor([[0.8, 0.8], [1.2, 0.4]]), stack),
                               torch.tensor([[[0.0, 0.8], [1.2, 0.0]]]))
    # Inputs are scaled by c before the SAE and reconstructions divided by it.
    stack.buffers["input_scale"] = torch.tensor([2.0])
    torch.testing.assert_close(JUMPRELU.encode(torch.tensor([[0.4, 0.4]]), stack), torch.tensor([[[0.0, 0.8]]]))
    torch.testing.assert_close(JUMPRELU.decode(torch.tensor([[[0.0, 0.8]]]), stack), torch.tensor([[[0.0, 0.4]]]))


# ---------------------------------------------------------------------------------------------- exact sparsity

def test_topk_activates_exactly_k_latents_per_sample_with_several_k_in_one_stack():
    stack = random_stack("topk", (1.0, 3.0, 5.0), dict_size=16, dim=6, dtype=torch.float32)
    stack.params["b_enc"] += 5.0  # every pre-activation positive, so exactly k survive the ReLU
    codes = TOPK.encode(torch.randn(40, 6), stack)
    for model, k in enumerate((1, 3, 5)):
        assert ((codes[model] > 0).sum(dim=1) == k).all()


def test_batchtopk_activates_exactly_k_times_batch_per_batch():
    stack = random_stack("batchtopk", (2.0, 4.0), dict_size=16, dim=6, dtype=torch.float32)
    stack.params["b_enc"] += 5.0
    x = torch.randn(32, 6)
    codes = BATCHTOPK.batch_encode(x, stack)
    assert [(codes[m] > 0).sum().item() for m in range(2)] == [2 * 32, 4 * 32]
    per_sample = (codes[0] > 0).sum(dim=1)
    assert per_sample.min() < per_sample.max()  # the count varies between samples; only the total is fixed


def test_batchtopk_inference_codes_do_not_depend_on_batch_mates():
    stack = random_stack("batchtopk", (2.0,), dict_size=16, dim=6, dtype=torch.float32)
    x = torch.randn(20, 6)
    BATCHTOPK.finish_training(stack, [torch.randn(32, 6) for _ in range(5)], ArchitectureOptions())
    together = BATCHTOPK.encode(x, stack)
    alone = torch.cat([BATCHTOPK.encode(x[i : i + 1], stack) for i in range(20)], dim=1)
    torch.testing.assert_close(together, alone)
    # With θ estimated on the same distribution, the inference L0 is close to k (here within 50 %: small sample).
    assert (together > 0).sum(dim=2).float().mean().item() == pytest.approx(2.0, rel=0.5)


# ---------------------------------------------------------------------------------------------- gradients

OPTIONS = ArchitectureOptions(k_aux=4, dead_tokens=8 * 5, bandwidth=0.2, l0_warmup_steps=0)


@pytest.mark.parametrize("architecture, sparsities", [
    ("relu_l1", (0.0, 0.3, 2.0)), ("topk", (2.0, 5.0)), ("batchtopk", (2.0, 5.0)), ("jumprelu", (0.0, 0.05, 0.5)),
])
def test_hand_written_gradients_match_autograd(architecture, sparsities):
    stack = random_stack(architecture, sparsities, dict_size=12, dim=5, seed=1)
    x = torch.randn(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    result, grads, _ = block_step(stack, x, OPTIONS)
    losses, expected = autograd_gradients(stack, x, OPTIONS)
    torch.testing.assert_close(result.reconstruction, losses.reconstruction.detach())
    torch.testing.assert_close(result.penalty, losses.penalty.detach())
    for name in stack.params:
        torch.testing.assert_close(grads[name], expected[name], msg=f"{architecture}: ∂/∂{name}")


@pytest.mark.parametrize("architecture", ["topk", "batchtopk"])
def test_auxk_gradients_match_autograd_with_dead_latents(architecture):
    stack = random_stack(architecture, (2.0, 3.0), dict_size=12, dim=5, seed=3)
    x = torch.randn(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    window = dead_steps(OPTIONS.dead_tokens, 8)
    counters = torch.zeros(2, 12, dtype=torch.int32)
    counters[0, ::2] = counters[1, :9] = window + 3  # latents silent for longer than the window
    result, grads, after = block_step(stack, x, OPTIONS, counters)
    dead = after >= window
    assert dead.any() and (~dead).any() and result.penalty.gt(0).all()
    losses, expected = autograd_gradients(stack, x, OPTIONS, dead=dead)
    torch.testing.assert_close(result.penalty, losses.penalty.detach())
    for name in stack.params:
        torch.testing.assert_close(grads[name], expected[name], msg=f"{architecture}: ∂/∂{name}")


def test_jumprelu_threshold_gradient_follows_formulas_g1_and_g2():
    stack = random_stack("jumprelu", (0.3,), dict_size=10, dim=4, seed=5)
    x = torch.randn(64, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    _, grads, _ = block_step(stack, x, OPTIONS)
    # G1 in the scaled space x' = c x: ∂L/∂θ_i = (1/(Bε)) Σ_b K((π_bi − θ_i)/ε)(−θ_i g_bi − λ), g = 2(x̂' − x')·d_i.
    scaled = x * stack.buffers["input_scale"][0]
    b_dec, w_enc, w_dec = stack.params["b_dec"][0], stack.w_enc[0], stack.w_dec[0]
    theta = stack.params["log_threshold"][0].exp()
    pi = torch.relu((scaled - b_dec) @ w_enc.T + stack.b_enc[0])
    f = pi * (pi > theta)
    g = 2 * (f @ w_dec + b_dec - scaled) @ w_dec.T
    kernel = ((pi - theta) / OPTIONS.bandwidth).abs() < 0.5
    assert kernel.sum() > 10, "enough (b, i) pairs inside the kernel's window"
    d_theta = (kernel * (-theta * g - 0.3)).sum(dim=0) / (64 * OPTIONS.bandwidth)
    torch.testing.assert_close(grads["log_threshold"][0], theta * d_theta)  # G2: the chain rule through exp


def test_topk_latents_never_chosen_get_no_encoder_gradient():
    stack = random_stack("topk", (2.0,), dict_size=12, dim=5, seed=7)
    x = torch.randn(8, 5, dtype=torch.float64)
    _, grads, _ = block_step(stack, x, OPTIONS)
    chosen = (TOPK.encode(x, stack)[0] > 0).any(dim=0)
    assert (~chosen).any()
    assert (grads["w_enc"][0][~chosen] == 0).all() and (grads["b_enc"][0][~chosen] == 0).all()  # G3


@pytest.mark.parametrize("architecture", ["topk", "batchtopk", "jumprelu"])
def test_decoder_gradient_has_no_component_along_the_rows_and_rows_stay_unit(architecture):
    from superposition.sweep import SweepGrid, train_sweep
    from tests.conftest import random_batches

    stack = random_stack(architecture, (2.0,), dict_size=12, dim=5, seed=8)
    _, grads, _ = block_step(stack, torch.randn(8, 5, dtype=torch.float64), OPTIONS)
    radial = (grads["w_dec"] * stack.w_dec).sum(dim=-1)
    torch.testing.assert_close(radial, torch.zeros_like(radial), atol=1e-12, rtol=0)  # G4
    grid = SweepGrid(architecture, (2.0,), (12,), lr=0.05, options=OPTIONS)
    trained = train_sweep(random_batches(5, 8, seed=0), 5, grid, steps=20, seed=0, progress=False,
                          init_data=torch.randn(64, 5))
    norms = trained.stacks[architecture, 12].w_dec.norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------- AuxK (G6)

def test_auxk_uses_only_dead_latents_and_vanishes_without_them():
    pre = torch.randn(2, 6, 8, dtype=torch.float64)
    dead = torch.zeros(2, 8, dtype=torch.bool)
    assert gather_dead(pre, dead) is None
    dead[0, [1, 4, 6]] = True
    dead[1, 2] = True
    gathered = gather_dead(pre, dead)
    assert gathered.index[0].tolist()[:3] == [1, 4, 6] and gathered.count.tolist() == [3, 1]
    assert torch.isinf(gathered.pre[1, :, 1:]).all()  # padding: model 1 has one dead latent
    w_dec = torch.randn(2, 8, 3, dtype=torch.float64)
    error = torch.randn(2, 6, 3, dtype=torch.float64)
    loss, grad_dead, grad_rows = auxk_loss_and_gradients(gathered, w_dec, error, k_aux=2, coefficient=1 / 32)
    assert (loss > 0).all()
    assert (grad_dead[1, :, 1:] == 0).all() and (grad_rows[1, 1:] == 0).all()  # nothing flows to padding
    # With no dead latent at all in one model, its loss and gradients are exactly zero.
    dead[1] = False
    gathered = gather_dead(pre, dead)
    loss, grad_dead, grad_rows = auxk_loss_and_gradients(gathered, w_dec, error, k_aux=2, coefficient=1 / 32)
    assert loss[1] == 0 and (grad_dead[1] == 0).all() and (grad_rows[1] == 0).all()


def test_auxk_selects_the_top_k_aux_dead_pre_activations_after_relu():
    pre = torch.tensor([[[5.0, 3.0, -1.0, 2.0, 0.5], [-1.0, -2.0, -3.0, -4.0, -5.0]]], dtype=torch.float64)
    dead = torch.tensor([[False, True, True, True, True]])  # (n=1, J=5); pre is (n=1, B=2, J=5)
    gathered = gather_dead(pre, dead)
    w_dec = torch.eye(5, dtype=torch.float64)[None]
    error = torch.zeros(1, 2, 5, dtype=torch.float64)
    error[0, 0, 0] = 1.0
    # k_aux = 2 among dead latents 1–4: values 3 and 2 for sample 0 (latent 0, live, is never used although it is
    # the largest); sample 1 has only negative pre-activations, which the ReLU zeroes.
    loss, _, _ = auxk_loss_and_gradients(gathered, w_dec, error, k_aux=2, coefficient=1.0)
    e_hat = torch.zeros(2, 5, dtype=torch.float64)
    e_hat[0, 1], e_hat[0, 3] = 3.0, 2.0
    variance = (error[0] - error[0].mean(dim=0)).pow(2).mean()  # the residual's batch variance
    assert loss.item() == pytest.approx(((e_hat - error[0]) ** 2).mean().item() / variance.item())


def test_auxk_enters_the_objective_with_its_coefficient():
    stack = random_stack("topk", (2.0,), dict_size=12, dim=5, seed=9)
    x = torch.randn(16, 5, dtype=torch.float64)
    dead = torch.zeros(1, 12, dtype=torch.bool)
    dead[0, :6] = True
    full = TOPK.losses(x, stack, ArchitectureOptions(aux_coefficient=1 / 32), dead=dead)
    none = TOPK.losses(x, stack, ArchitectureOptions(aux_coefficient=0.0), dead=dead)
    double = TOPK.losses(x, stack, ArchitectureOptions(aux_coefficient=2 / 32), dead=dead)
    assert full.penalty.item() > 0 and none.penalty.item() == 0
    assert double.penalty.item() == pytest.approx(2 * full.penalty.item())
    torch.testing.assert_close(full.objective - none.objective, full.penalty)


def test_dead_window_is_counted_in_whole_batches():
    assert dead_steps(10_000_000, 131_072) == 76  # Gao et al.'s code
    assert dead_steps(100, 256) == 1


# ---------------------------------------------------------------------------------------------- initialisation

def test_geometric_median_known_answers():
    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    torch.testing.assert_close(geometric_median(square), torch.tensor([1.0, 1.0]))
    # Robust to an outlier, unlike the mean: four points at 0 and one far away stay at 0.
    outlier = torch.tensor([[0.0, 0.0]] * 4 + [[100.0, 0.0]])
    assert geometric_median(outlier).norm() < 1e-3 and initial_b_dec(outlier, "mean")[0] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="geometric_median or mean"):
        initial_b_dec(outlier, "median")


def test_data_initialised_architectures():
    data = torch.randn(512, 6) * 2 + 3
    options = ArchitectureOptions(b_dec_init="mean")
    stack = TOPK.init_stack(6, 10, (2.0, 3.0), seed=0, options=options, data=data)
    torch.testing.assert_close(stack.params["b_dec"][1], data.mean(dim=0))
    torch.testing.assert_close(stack.w_dec, stack.w_enc / stack.w_enc.norm(dim=-1, keepdim=True))
    assert stack.buffers["target_variance"][0].item() == pytest.approx(centred_variance(data), rel=1e-6)
    jump = JUMPRELU.init_stack(6, 10, (0.1,), seed=0, options=ArchitectureOptions(), data=data)
    assert jump.params["log_threshold"].exp().allclose(torch.tensor(0.001))
    assert jump.buffers["input_scale"].item() == pytest.approx(data.pow(2).sum(dim=1).mean().item() ** -0.5, rel=1e-5)
    torch.testing.assert_close(jump.w_enc, jump.w_dec)
    with pytest.raises(ValueError, match="pass a sample"):
        TOPK.init_stack(6, 10, (2.0,), seed=0, options=options)


def test_relu_l1_orthogonal_decoder_initialisation():
    # h = 4 ≤ J = 6: the h×J decoder has orthonormal rows, i.e. W_decᵀ W_dec = I_h.
    _, b_enc, w_dec = init_sae(dim=4, dict_size=6, seed=0)
    torch.testing.assert_close(w_dec.T @ w_dec, torch.eye(4), atol=1e-5, rtol=0)
    _, _, w_dec = init_sae(dim=4, dict_size=3, seed=0)
    torch.testing.assert_close(w_dec @ w_dec.T, torch.eye(3), atol=1e-5, rtol=0)
    assert b_enc.abs().max() <= 1 / 2  # Uniform(±1/√h)


def test_model_seed_is_stable_and_distinct():
    assert model_seed(0, "relu_l1", 512, 0.1) == model_seed(0, "relu_l1", 512, 0.1)
    seeds = {model_seed(s, a, j, v) for s in (0, 1) for a in ARCHITECTURE_NAMES for j in (256, 512) for v in (0.1, 5.0)}
    assert len(seeds) == 2 * len(ARCHITECTURE_NAMES) * 2 * 2


@pytest.mark.parametrize("architecture", ARCHITECTURE_NAMES)
def test_stack_initialisation_is_independent_of_the_other_models(architecture):
    arch = get_architecture(architecture)
    values = (2.0, 3.0, 4.0) if architecture in ("topk", "batchtopk") else (0.03, 0.1, 0.3)
    data = torch.randn(64, 8)
    alone = arch.init_stack(8, 16, values[1:2], 3, ArchitectureOptions(), data)
    together = arch.init_stack(8, 16, values, 3, ArchitectureOptions(), data)
    for name, tensor in alone.tensors().items():
        torch.testing.assert_close(tensor, together.select(1).tensors()[name], equal_nan=True)


def test_sparsity_values_are_checked():
    with pytest.raises(ValueError, match="whole number"):
        TOPK.check_sparsity(2.5, 10)
    with pytest.raises(ValueError, match=r"\[1, J = 10\]"):
        TOPK.check_sparsity(11.0, 10)
    with pytest.raises(ValueError, match="unknown SAE architecture 'gated'"):
        get_architecture("gated")


def test_l0_warmup():
    assert [l0_warmup(t, 4) for t in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    assert l0_warmup(None, 4) == 1.0 and l0_warmup(1, 0) == 1.0
