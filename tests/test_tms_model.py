"""Toy models of superposition: data, hand-written gradient, batched training, persistence."""

import pytest
import torch

from superposition.tms.config import TMSIntroConfig, TMSTrainConfig
from superposition.tms.experiments import build_stack, load_models, save_models, train_part
from superposition.tms.model import ToyModelStack, sample_features, train_toy_models


def small_stack(seed: int = 0, dtype=torch.float32) -> ToyModelStack:
    stack = ToyModelStack.create(6, 3, [[1.0] * 6, [0.9**i for i in range(6)], [1.0] * 6],
                                 [[0.3] * 6, [0.5] * 6, [1.0] * 6], [True, False, True], ["a", "b", "c"], seed)
    return ToyModelStack(stack.w.to(dtype), stack.b.to(dtype), stack.importance.to(dtype),
                         stack.feature_probability.to(dtype), stack.relu, stack.keys)


def test_sample_features_density_values_and_sharing():
    probability = torch.tensor([[0.1] * 50, [0.6] * 50])
    x = sample_features(probability, 20_000, torch.Generator().manual_seed(0))
    active = x > 0
    assert active[0].float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert active[1].float().mean().item() == pytest.approx(0.6, abs=0.01)
    assert x[active].min() > 0 and x.max() < 1 and x[active].mean().item() == pytest.approx(0.5, abs=0.01)
    # Shared uniforms: where both instances are active, they hold the same value.
    both = active[0] & active[1]
    torch.testing.assert_close(x[0][both], x[1][both])


@pytest.mark.parametrize("relu", [[True, False, True], [True, True, True]])
def test_hand_written_gradient_matches_autograd(relu):
    stack = small_stack(dtype=torch.float64)
    stack = ToyModelStack(stack.w, torch.randn(3, 6, dtype=torch.float64) * 0.1, stack.importance,
                          stack.feature_probability, torch.tensor(relu), stack.keys)
    x = sample_features(stack.feature_probability, 32, torch.Generator().manual_seed(1))
    losses, grad_w, grad_b = stack.loss_and_gradients(x)
    w, b = stack.w.clone().requires_grad_(True), stack.b.clone().requires_grad_(True)
    reference = ToyModelStack(w, b, stack.importance, stack.feature_probability, stack.relu, stack.keys).loss(x)
    reference.sum().backward()
    torch.testing.assert_close(losses, reference.detach())
    torch.testing.assert_close(grad_w, w.grad)
    torch.testing.assert_close(grad_b, b.grad)


def test_loss_known_answer():
    # One ReLU model with n = 2, m = 1, W = [1, -1]: x = (0.5, 0.2) gives x' = (0.3, 0), error (0.2, 0.2).
    stack = ToyModelStack(torch.tensor([[[1.0], [-1.0]]]), torch.zeros(1, 2), torch.tensor([[1.0, 3.0]]),
                          torch.ones(1, 2), torch.tensor([True]), ["k"])
    assert stack.loss(torch.tensor([[[0.5, 0.2]]])).item() == pytest.approx(0.04 + 3 * 0.04)


def test_batched_training_equals_training_each_instance_alone():
    stack = small_stack()
    together = train_toy_models(stack, steps=60, batch_size=64, lr=1e-2, weight_decay=0.01, data_seed=3,
                                progress=False)
    for key in stack.keys:
        alone = train_toy_models(stack.select([key]), steps=60, batch_size=64, lr=1e-2, weight_decay=0.01, data_seed=3,
                                 progress=False)
        index = stack.keys.index(key)
        torch.testing.assert_close(together.stack.w[index], alone.stack.w[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(together.stack.b[index], alone.stack.b[0], atol=1e-5, rtol=1e-4)


def test_training_learns_the_dense_two_feature_solution():
    # n = 3 features of importance 1, 0.5, 0.25 in m = 2 dimensions, dense: the two most important survive.
    stack = ToyModelStack.create(3, 2, [[1.0, 0.5, 0.25]], [[1.0] * 3], [True], ["dense"], seed=0)
    trained = train_toy_models(stack, steps=1500, batch_size=256, lr=1e-2, weight_decay=0.0, data_seed=0,
                               progress=False)
    norms = trained.stack.w[0].norm(dim=-1)
    assert norms[0] > 0.8 and norms[1] > 0.8 and norms[2] < 0.3


def test_initialisation_depends_only_on_the_instance_key():
    a = ToyModelStack.create(4, 2, [[1.0] * 4] * 2, [[0.5] * 4] * 2, [True, True], ["x", "y"], seed=0)
    b = ToyModelStack.create(4, 2, [[1.0] * 4], [[0.5] * 4], [True], ["y"], seed=0)
    torch.testing.assert_close(a.w[1], b.w[0])
    assert not torch.allclose(a.w[0], a.w[1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(keys=["a", "a"]), "unique"), (dict(feature_probability=[[1.5] * 3, [0.5] * 3]), "probabilities"),
    (dict(relu=[True]), "one entry per instance"),
])
def test_bad_stacks_are_refused(kwargs, message):
    arguments = dict(n_features=3, n_hidden=2, importance=[[1.0] * 3] * 2, feature_probability=[[0.5] * 3] * 2,
                     relu=[True, True], keys=["a", "b"], seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        ToyModelStack.create(**arguments)


def test_intro_stack_and_persistence(tmp_path):
    config = TMSIntroConfig(steps=5, n_features=5, n_hidden=2, importance_decay=0.9, sparsities=(0.0, 0.9))
    stack = build_stack("intro", config, seed=0)
    assert stack.keys == ["relu/S=0", "relu/S=0.9", "linear/S=0", "linear/S=0.9"]
    assert stack.relu.tolist() == [True, True, False, False]
    torch.testing.assert_close(stack.feature_probability[1], torch.full((5,), 0.1))
    train = TMSTrainConfig(batch_size=16, lr=1e-3, weight_decay=0.01, seed=0, data_seed=1, log_every=1)
    trained = train_part("intro", config, train, "cpu", tmp_path / "intro.safetensors", progress=False)
    loaded = load_models(tmp_path / "intro.safetensors")
    assert loaded.stack.keys == trained.stack.keys and loaded.history_loss.shape == (5, 4)
    torch.testing.assert_close(loaded.stack.w, trained.stack.w)
    assert loaded.stack.relu.dtype == torch.bool
    save_models(loaded, tmp_path / "again.safetensors", {})
    torch.testing.assert_close(load_models(tmp_path / "again.safetensors").stack.b, trained.stack.b)


def test_unknown_part_is_refused():
    with pytest.raises(ValueError, match="unknown tms part"):
        build_stack("pentagons", None, seed=0)


def test_training_leaves_the_input_stack_untouched():
    stack = small_stack()
    before = stack.w.clone()
    train_toy_models(stack, steps=5, batch_size=8, lr=1e-2, weight_decay=0.0, data_seed=0, progress=False)
    torch.testing.assert_close(stack.w, before)
