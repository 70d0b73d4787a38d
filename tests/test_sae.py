"""Sparse autoencoder stacks: known answers, the hand-written gradient, initialisation."""

import pytest
import torch

from superposition.sae import (
    SAEStack,
    decode,
    encode,
    init_sae,
    loss_and_gradients,
    model_seed,
    normalized_decoder,
    sae_loss,
)


def test_encode_known_answer():
    # c = ReLU(W x + b) with identity W: the negative coordinate is cut.
    w_enc = torch.eye(2).unsqueeze(0)
    codes = encode(torch.tensor([[2.0, -1.0]]), w_enc, torch.zeros(1, 2))
    torch.testing.assert_close(codes, torch.tensor([[[2.0, 0.0]]]))
    codes = encode(torch.tensor([[2.0, -1.0]]), w_enc, torch.tensor([[-0.5, 1.5]]))
    torch.testing.assert_close(codes, torch.tensor([[[1.5, 0.5]]]))


def test_decoder_rows_are_unit_norm_on_the_forward_pass():
    w_dec = torch.tensor([[[3.0, 4.0], [0.0, -2.0]]])  # (1, J=2, h=2)
    torch.testing.assert_close(normalized_decoder(w_dec), torch.tensor([[[0.6, 0.8], [0.0, -1.0]]]))
    # A code of 1 on latent j reconstructs the unit-norm dictionary element j, whatever its stored scale.
    reconstruction = decode(torch.tensor([[[1.0, 0.0], [0.0, 2.0]]]), w_dec)
    torch.testing.assert_close(reconstruction, torch.tensor([[[0.6, 0.8], [0.0, -2.0]]]))


def test_loss_known_answer():
    # One SAE, h = 2, J = 2, identity encoder and decoder: x = (2, -1) gives c = (2, 0), x̂ = (2, 0).
    stack = SAEStack(torch.eye(2)[None], torch.zeros(1, 2), torch.eye(2)[None], torch.tensor([0.5]))
    reconstruction, l1, codes = sae_loss(torch.tensor([[2.0, -1.0]]), stack)
    assert reconstruction.item() == pytest.approx(1.0 / 2)  # (1/h)·||(0, -1)||²
    assert l1.item() == pytest.approx(0.5 / 2 * 2.0)  # (α/J)·|c|₁


@pytest.mark.parametrize("dict_size", [3, 8])
def test_hand_written_gradient_matches_autograd(dict_size):
    torch.manual_seed(0)
    dim, batch = 5, 7
    double = dict(dtype=torch.float64)
    stack = SAEStack(torch.randn(3, dict_size, dim, **double), torch.randn(3, dict_size, **double),
                     torch.randn(3, dict_size, dim, **double), torch.tensor([0.0, 0.3, 2.0], **double))
    x = torch.randn(batch, dim, dtype=torch.float64)
    reconstruction, l1, codes, grads = loss_and_gradients(x, stack)

    leaves = [p.clone().requires_grad_(True) for p in stack.parameters()]
    reference = SAEStack(*leaves, stack.l1_coefficients)
    ref_rec, ref_l1, ref_codes = sae_loss(x, reference)
    (ref_rec.sum() + ref_l1.sum()).backward()
    torch.testing.assert_close(reconstruction, ref_rec.detach())
    torch.testing.assert_close(l1, ref_l1.detach())
    torch.testing.assert_close(codes, ref_codes.detach())
    for grad, leaf in zip(grads, leaves):
        torch.testing.assert_close(grad, leaf.grad)


def test_orthogonal_decoder_initialisation():
    # h = 4 ≤ J = 6: the h×J decoder has orthonormal rows, i.e. W_decᵀ W_dec = I_h.
    _, b_enc, w_dec = init_sae(dim=4, dict_size=6, seed=0)
    torch.testing.assert_close(w_dec.T @ w_dec, torch.eye(4), atol=1e-5, rtol=0)
    # J = 3 < h = 4: orthonormal columns of the h×J matrix, i.e. orthonormal dictionary elements.
    _, _, w_dec = init_sae(dim=4, dict_size=3, seed=0)
    torch.testing.assert_close(w_dec @ w_dec.T, torch.eye(3), atol=1e-5, rtol=0)
    assert b_enc.abs().max() <= 1 / 2  # Uniform(±1/√h)


def test_model_seed_is_stable_and_distinct():
    assert model_seed(0, 512, 0.1) == model_seed(0, 512, 0.1)
    seeds = {model_seed(s, j, a) for s in (0, 1) for j in (256, 512) for a in (0.1, 0.178)}
    assert len(seeds) == 8


def test_stack_create_is_independent_of_the_other_models():
    alone = SAEStack.create(8, 16, [0.1], seed=3)
    together = SAEStack.create(8, 16, [0.03, 0.1, 0.3], seed=3)
    for a, b in zip(alone.parameters(), together.select(1).parameters()):
        torch.testing.assert_close(a, b)
