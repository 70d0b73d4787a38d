"""The toy models of Elhage et al. (2022), "Toy Models of Superposition", trained many at once.

Data: n features, each 0 with probability S (the sparsity) and otherwise Uniform(0, 1).
ReLU output model: h = W x, x' = ReLU(Wᵀ h + b); linear model: x' = Wᵀ W x + b. W is m × n; we store it
feature-major as ``w`` of shape (n, m), so the paper's column W_i (feature i's embedding) is ``w[i]``.
Loss per model: mean over the batch of Σ_i I_i (x_i − x'_i)², with importances I_i.

A :class:`ToyModelStack` holds an ``instances`` axis of such models of one (n, m) shape, each with its own
importance, feature probability, output nonlinearity and seed; they train together in one batched
computation (AdamW is elementwise, so they stay independent). All instances read the same stream of
uniform random numbers and threshold it with their own probability, so an instance's data, like its
initialisation, does not depend on which other instances share the stack: training it alone reproduces it.

Initialisation (the paper's code uses Xavier-normal on the stacked (instances, n, m) tensor, whose scale
would then depend on the number of instances): each W is Xavier-normal on its own n × m matrix,
std = sqrt(2 / (n + m)); b = 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from superposition.runtime import derived_seed, retain_freed_memory

__all__ = ["ToyModelStack", "instance_seed", "TrainedToyModels", "train_toy_models", "sample_features"]


def instance_seed(seed: int, key: str) -> int:
    """A stable seed for the instance named ``key`` (independent of the other instances)."""
    return derived_seed(seed, key)


@dataclass
class ToyModelStack:
    """``I`` toy models of one shape (n features, m hidden dimensions).

    Attributes:
        w: (I, n, m) embeddings; w[k, i] is feature i's column W_i of model k.
        b: (I, n) output biases.
        importance: (I, n) importance I_i of each feature.
        feature_probability: (I, n) probability 1 − S that each feature is non-zero.
        relu: (I,) bool, True for the ReLU output model, False for the linear one.
        keys: names of the instances (used for their seeds and in results).
    """

    w: torch.Tensor
    b: torch.Tensor
    importance: torch.Tensor
    feature_probability: torch.Tensor
    relu: torch.Tensor
    keys: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, n_features: int, n_hidden: int, importance: Sequence[Sequence[float]],
               feature_probability: Sequence[Sequence[float]], relu: Sequence[bool], keys: Sequence[str],
               seed: int, init_std: float | None = None) -> "ToyModelStack":
        """Fresh instances; instance k is initialised from ``instance_seed(seed, keys[k])``.

        ``init_std`` is the standard deviation of W's entries (default: Xavier-normal on n × m).
        """
        if not (len(importance) == len(feature_probability) == len(relu) == len(keys)):
            raise ValueError("importance, feature_probability, relu and keys need one entry per instance")
        if len(set(keys)) != len(keys):
            raise ValueError("instance keys must be unique")
        std = init_std if init_std is not None else (2.0 / (n_features + n_hidden)) ** 0.5
        weights = [torch.randn(n_features, n_hidden, generator=torch.Generator().manual_seed(instance_seed(seed, k)))
                   * std for k in keys]
        probability = torch.tensor(feature_probability, dtype=torch.float32)
        if probability.shape != (len(keys), n_features) or probability.min() < 0 or probability.max() > 1:
            raise ValueError(f"feature probabilities must be in [0, 1] with shape ({len(keys)}, {n_features})")
        return cls(torch.stack(weights), torch.zeros(len(keys), n_features),
                   torch.tensor(importance, dtype=torch.float32), probability,
                   torch.tensor(list(relu), dtype=torch.bool), list(keys))

    @property
    def n_instances(self) -> int:
        return self.w.shape[0]

    def to(self, device: torch.device | str) -> "ToyModelStack":
        """A copy on ``device``."""
        return ToyModelStack(self.w.to(device), self.b.to(device), self.importance.to(device),
                             self.feature_probability.to(device), self.relu.to(device), list(self.keys))

    def select(self, keys: Sequence[str]) -> "ToyModelStack":
        """The instances named ``keys``, in that order."""
        index = torch.tensor([self.keys.index(k) for k in keys])
        return ToyModelStack(self.w[index], self.b[index], self.importance[index], self.feature_probability[index],
                             self.relu[index], list(keys))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions x' for inputs x (I, batch, n) -> (I, batch, n)."""
        hidden = torch.bmm(x, self.w)  # (I, batch, m)
        output = torch.baddbmm(self.b.unsqueeze(1), hidden, self.w.transpose(1, 2))  # (I, batch, n)
        return torch.where(self.relu.view(-1, 1, 1), torch.relu(output), output)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Per-instance loss, mean over the batch of Σ_i I_i (x_i − x'_i)²: (I, batch, n) -> (I,)."""
        error = (x - self.forward(x)).pow(2) * self.importance.unsqueeze(1)
        return error.sum(dim=-1).mean(dim=-1)

    @torch.no_grad()
    def loss_and_gradients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`loss` and the gradient of its sum over instances, by hand (checked against autograd).

        With z = W Wᵀ x + b, e = x' − x and B the batch size: ∂L/∂z = 2 I e / B, masked by z > 0 for ReLU
        instances; ∂L/∂b = Σ_batch ∂L/∂z; ∂L/∂W = xᵀ (∂L/∂z) W + (∂L/∂z)ᵀ h with h = x W.
        Returns (losses (I,), dW (I, n, m), db (I, n)). About half the elementwise passes of autograd.
        """
        batch = x.shape[1]
        all_relu = bool(self.relu.all())
        hidden = torch.bmm(x, self.w)  # (I, B, m)
        output = torch.baddbmm(self.b.unsqueeze(1), hidden, self.w.transpose(1, 2))  # (I, B, n): z
        # On the CPU each elementwise pass over (I, B, n) costs about as much as one of the matmuls, and
        # torch.where and masked_fill are several times slower than in-place clamp/sign/mul: hence this form.
        if all_relu:
            output.clamp_(min=0)  # x' = ReLU(z)
        else:
            output = torch.where(self.relu.view(-1, 1, 1), output.clamp(min=0), output)
        active = torch.sign(output)  # ReLU'(z) ∈ {0, 1} for ReLU instances ...
        if not all_relu:
            active[~self.relu] = 1.0  # ... and 1 for linear ones
        error = output.sub_(x)  # (I, B, n): x' − x
        losses = ((error * error).sum(dim=1) * self.importance).sum(dim=-1) / batch
        grad_output = error.mul_(self.importance.unsqueeze(1) * (2.0 / batch)).mul_(active)  # ∂L/∂z
        grad_b = grad_output.sum(dim=1)
        grad_w = torch.bmm(x.transpose(1, 2), torch.bmm(grad_output, self.w))
        grad_w.baddbmm_(grad_output.transpose(1, 2), hidden)
        return losses, grad_w, grad_b


def sample_features(feature_probability: torch.Tensor, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A batch (I, batch, n): feature i of instance k is Uniform(0, 1) with probability p[k, i], else 0.

    The two uniform draws are shared by all instances (see the module docstring).
    """
    n_features = feature_probability.shape[-1]
    device = feature_probability.device
    dtype = feature_probability.dtype
    gate = torch.rand(batch_size, n_features, generator=generator, device=device, dtype=dtype)
    value = torch.rand(batch_size, n_features, generator=generator, device=device, dtype=dtype)
    return value.unsqueeze(0) * (gate.unsqueeze(0) < feature_probability.unsqueeze(1))


@dataclass
class TrainedToyModels:
    """Trained instances and their loss history (steps (n_logs,), losses (n_logs, I))."""

    stack: ToyModelStack
    history_steps: torch.Tensor
    history_loss: torch.Tensor


def train_toy_models(
    stack: ToyModelStack, steps: int, batch_size: int, lr: float, weight_decay: float, data_seed: int,
    device: torch.device | str = "cpu", log_every: int = 100, progress: bool = True, description: str = "tms",
) -> TrainedToyModels:
    """Train every instance of ``stack`` with AdamW on its own loss (their sum), in one batched computation."""
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    model = stack.to(device)
    model.w, model.b = model.w.clone(), model.b.clone()  # train copies: never modify the caller's stack
    retain_freed_memory()
    fused = torch.device(device).type in ("cpu", "cuda")
    optimizer = torch.optim.AdamW([model.w, model.b], lr=lr, weight_decay=weight_decay, fused=fused)
    generator = torch.Generator(device=device).manual_seed(data_seed)
    logged_steps, logged_loss = [], []
    bar = tqdm(range(1, steps + 1), desc=description, unit="step", disable=not progress, file=sys.stderr,
               mininterval=2.0)
    for step in bar:
        x = sample_features(model.feature_probability, batch_size, generator)
        losses, model.w.grad, model.b.grad = model.loss_and_gradients(x)
        optimizer.step()
        if step % log_every == 0 or step == steps:
            logged_steps.append(step)
            logged_loss.append(losses.cpu())
            bar.set_postfix(loss=f"{logged_loss[-1].mean():.3e}", refresh=False)
    model.w.grad = model.b.grad = None
    trained = ToyModelStack(model.w.cpu(), model.b.cpu(), stack.importance, stack.feature_probability, stack.relu,
                            list(stack.keys))
    return TrainedToyModels(trained, torch.tensor(logged_steps), torch.stack(logged_loss))
