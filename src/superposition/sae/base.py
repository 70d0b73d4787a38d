"""The interface every SAE architecture implements, and the stack of SAEs of one architecture and size.

Shapes (per model; a stack adds a leading model axis n): inputs x (B, h); encoder ``w_enc`` (J, h), one row per
latent; ``b_enc`` (J,); decoder ``w_dec`` (J, h), row j = dictionary element j; ``b_dec`` (h,) where the
architecture has a decoder bias (subtracted from x before the encoder: Gao et al.'s "pre-encoder bias").

An architecture is one module-level :class:`Architecture` object (relu_l1, topk, batchtopk, jumprelu). It says
what its sparsity hyper-parameter is called, how it initialises, encodes and decodes, its differentiable loss
(the reference the tests compare with), its training step with hand-written gradients (what the sweep trainer
runs), whether its decoder rows are kept at unit norm, its conversion for inference and how SAELens stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import torch

from superposition.runtime import derived_seed
from superposition.sae.options import ArchitectureOptions

__all__ = ["SAEStack", "Architecture", "StepResult", "Losses", "model_seed", "unit_rows",
           "project_out_radial_", "renormalise_rows_", "update_dead_counters_"]


def model_seed(seed: int, architecture: str, dict_size: int, sparsity: float) -> int:
    """A stable per-model seed: a model's initialisation does not depend on the rest of the grid.

    relu_l1 keeps the key it always had (seed, J, α), so its models are the ones trained before other
    architectures existed.
    """
    if architecture == "relu_l1":
        return derived_seed(seed, dict_size, sparsity)
    return derived_seed(seed, architecture, dict_size, sparsity)


@dataclass
class SAEStack:
    """``n`` SAEs of one architecture and one dictionary size J on inputs of size h, in stacked tensors.

    Attributes:
        architecture: the registry name (relu_l1, topk, batchtopk, jumprelu).
        sparsities: the n values of the architecture's sparsity hyper-parameter, as the config holds them.
        params: trained tensors by name, each with the model axis first: w_enc (n, J, h), b_enc (n, J),
            w_dec (n, J, h); by architecture b_dec (n, h) and log_threshold (n, J).
        buffers: saved, untrained state, each (n, ...): e.g. target_variance (n,), input_scale (n,),
            threshold (n,) (BatchTopK's inference threshold, once estimated).
    """

    architecture: str
    sparsities: tuple[float, ...]
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def n_models(self) -> int:
        return self.params["w_enc"].shape[0]

    @property
    def dict_size(self) -> int:
        return self.params["w_enc"].shape[1]

    @property
    def dim(self) -> int:
        return self.params["w_enc"].shape[2]

    @property
    def w_enc(self) -> torch.Tensor:
        return self.params["w_enc"]

    @property
    def b_enc(self) -> torch.Tensor:
        return self.params["b_enc"]

    @property
    def w_dec(self) -> torch.Tensor:
        return self.params["w_dec"]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Params and buffers in one dict (names do not overlap)."""
        return {**self.params, **self.buffers}

    def sparsity_tensor(self, device: torch.device | str | None = None) -> torch.Tensor:
        """(n,) float32 sparsity values."""
        return torch.tensor(self.sparsities, dtype=torch.float32, device=device or self.w_enc.device)

    def to(self, device: torch.device | str) -> "SAEStack":
        """A copy on ``device``."""
        return SAEStack(self.architecture, self.sparsities, {k: v.to(device) for k, v in self.params.items()},
                        {k: v.to(device) for k, v in self.buffers.items()})

    def select(self, index: int) -> "SAEStack":
        """The single SAE at ``index`` as a stack of one."""
        return SAEStack(self.architecture, (self.sparsities[index],),
                        {k: v[index : index + 1] for k, v in self.params.items()},
                        {k: v[index : index + 1] for k, v in self.buffers.items()})

    def detached(self) -> "SAEStack":
        """A copy whose tensors are contiguous, detached clones (e.g. to free a trainer's flat storage)."""
        return SAEStack(self.architecture, self.sparsities,
                        {k: v.detach().clone().contiguous() for k, v in self.params.items()},
                        {k: v.detach().clone().contiguous() for k, v in self.buffers.items()})


class Losses(NamedTuple):
    """Differentiable losses of a stack on a batch, each (n,), and the codes (n, B, J).

    ``reconstruction`` is (1/h) mean_b ||x − x̂||² in the data's units for every architecture (what the tables
    report); ``penalty`` is the objective's second term: (α/J)|c|₁ (relu_l1), the weighted AuxK loss (topk,
    batchtopk), λ·L0 (jumprelu); ``objective`` is what training minimises (its gradient is the hand-written one).
    """

    reconstruction: torch.Tensor
    penalty: torch.Tensor
    codes: torch.Tensor
    objective: torch.Tensor


class StepResult(NamedTuple):
    """What one training step of a stack reports, each (n,): reconstruction and penalty as in :class:`Losses`;
    None on steps whose losses are not logged (``StepContext.report`` false: they are not computed)."""

    reconstruction: torch.Tensor
    penalty: torch.Tensor


class Architecture:
    """One SAE architecture. Subclasses set the class attributes and implement the methods.

    Training is split with the sweep trainer, which holds the encoder of a whole grid in one matrix: it computes
    the pre-activations ``pre`` (n, B, J) of every latent (bias included; for a pre-encoder bias
    ``b_enc − w_enc b_dec``), calls :meth:`train_step`, which must write ∂L/∂pre into ``grads["pre"]`` and the
    gradients of the decoder-side parameters, and derives the encoder's gradients itself.
    """

    name: ClassVar[str]
    sparsity_name: ClassVar[str]  # the metric tables' and the sweep's name of the sparsity value
    sparsity_label: ClassVar[str]  # a figure's axis label
    saelens_architecture: ClassVar[str]  # how SAELens stores it: "standard", "topk" or "jumprelu"
    param_names: ClassVar[tuple[str, ...]]
    pre_encoder_bias: ClassVar[bool] = False  # pre = (x − b_dec) W_encᵀ + b_enc
    unit_norm_decoder: ClassVar[bool] = False  # rows kept at unit norm: gradient projected, rows renormalised
    needs_data: ClassVar[bool] = False  # initialisation uses a sample of the data
    latent_params: ClassVar[tuple[str, ...]] = ("w_enc", "b_enc", "w_dec")  # tensors with a latent axis

    def check_sparsity(self, value: float, dict_size: int) -> None:
        """ValueError unless ``value`` is a valid sparsity setting for a dictionary of ``dict_size``."""
        if value < 0:
            raise ValueError(f"{self.name}: {self.sparsity_name} must be ≥ 0, got {value}")

    def init_stack(self, dim: int, dict_size: int, sparsities: tuple[float, ...], seed: int,
                   options: ArchitectureOptions, data: torch.Tensor | None = None) -> SAEStack:
        """Freshly initialised SAEs, each seeded by :func:`model_seed`; ``data`` (N, h) where needs_data."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """Inference codes: x (B, h) -> (n, B, J). Never depends on other samples of the batch."""
        raise NotImplementedError

    def decode(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """Reconstruction in the data's units: codes (n, B, J) -> (n, B, h)."""
        raise NotImplementedError

    def losses(self, x: torch.Tensor, stack: SAEStack, options: ArchitectureOptions,
               dead: torch.Tensor | None = None, step: int | None = None) -> Losses:
        """Differentiable reference losses on a batch x (B, h), by autograd (straight-through where needed).

        ``dead`` (n, J): AuxK's dead latents (None: none); ``step``: the training step (for warm-ups; None: done).
        """
        raise NotImplementedError

    def penalty(self, codes: torch.Tensor, stack: SAEStack) -> torch.Tensor:
        """The objective's penalty on a batch's inference codes (n, B, J) -> (n,), for held-out evaluation: 0 unless
        the architecture penalises its codes (AuxK is a training device, not part of the model's loss)."""
        return torch.zeros(codes.shape[0], dtype=codes.dtype, device=codes.device)

    def train_step(self, x: torch.Tensor, pre: torch.Tensor, stack: SAEStack, grads: dict[str, torch.Tensor],
                   counters: torch.Tensor, context: "StepContext") -> StepResult:
        """One step with hand-written gradients; updates the dead-latent ``counters`` (n, J) in place."""
        raise NotImplementedError

    def finish_training(self, stack: SAEStack, batches: list[torch.Tensor], options: ArchitectureOptions) -> None:
        """Conversion for inference after the last step, on ``batches`` drawn after it (BatchTopK's threshold)."""

    def input_scale(self, stack: SAEStack) -> torch.Tensor | None:
        """(n,) factor applied to inputs before the SAE (JumpReLU's fixed normalisation), or None."""
        return None


@dataclass
class StepContext:
    """Per-step constants the trainer passes to :meth:`Architecture.train_step`."""

    step: int
    sparsity: torch.Tensor  # (n,) float32, the stack's sparsity values on the device
    options: ArchitectureOptions
    dead_steps: int  # AuxK's window in batches
    report: bool = True  # compute the losses StepResult reports (only the gradients are needed otherwise)


def unit_rows(matrix: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit norm: (..., J, h) -> (..., J, h)."""
    return matrix / matrix.norm(dim=-1, keepdim=True)


@torch.no_grad()
def project_out_radial_(grad: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """g_i ← g_i − ⟨g_i, d_i⟩ d_i for unit-norm rows d_i (Gao et al.; Bricken et al.), in place: (.., J, h)."""
    radial = (grad * rows).sum(dim=-1, keepdim=True)
    return grad.addcmul_(rows, radial, value=-1.0)


@torch.no_grad()
def renormalise_rows_(matrix: torch.Tensor) -> torch.Tensor:
    """d_i ← d_i / ||d_i|| in place: (..., J, h)."""
    return matrix.div_(matrix.norm(dim=-1, keepdim=True))


def update_dead_counters_(counters: torch.Tensor, fired: torch.Tensor) -> torch.Tensor:
    """Batches since each latent last fired: 0 where ``fired`` (n, J), else +1; in place."""
    return counters.add_(1).masked_fill_(fired, 0)
