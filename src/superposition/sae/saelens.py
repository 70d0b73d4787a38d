"""Trained SAEs of every architecture in SAELens's on-disk layout (sae-lens 6.x ``SAE.load_from_disk``).

A folder holds ``sae_weights.safetensors`` (W_enc (d_in, d_sae), b_enc (d_sae,), W_dec (d_sae, d_in), b_dec (d_in,)
and, for a JumpReLU, ``threshold`` (d_sae,), the linear threshold) and ``cfg.json``. SAELens computes
``pre = (x − b_dec) W_enc + b_enc``, then ``standard``: ReLU(pre); ``topk``: ReLU of the k largest pre-activations
(k an integer key of cfg.json); ``jumprelu``: ReLU(pre)·1[pre > threshold]; and ``x̂ = f W_dec + b_dec``.

Our models saw the activations multiplied by a scale s (lm_sae's ``target_norm``; JumpReLU multiplies again by its
input scale c, so s ← s·c there), so on raw activations: W_enc = s·w_encᵀ, W_dec = w_dec/s, b_dec = b_dec/s
(Gemma Scope's fold); b_enc and the thresholds are unchanged (latents keep their training units). relu_l1 writes
its decoder rows normalised, as its forward pass uses them, and b_dec = 0. BatchTopK is written as ``jumprelu``
with its global inference threshold broadcast to every latent and ``training_architecture: "batchtopk"`` in the
metadata, as SAELens itself saves it.

Three things sae-lens 6.54 needs that an older writer missed: ``sae_lens_version`` (and
``sae_lens_training_version``) inside ``metadata``, without which the file is read as pre-6.0 and the metadata is
dropped (hook name, model name, our fields) and ``prepend_bos`` becomes true; hyper-parameters written as the
decimals the config holds (0.1, not 0.10000000149011612: they come from the grid's Python floats, never from
float32 tensors); and ``hook_name`` a TransformerLens hook (``blocks.1.mlp.hook_post``) that
``HookedSAETransformer.add_sae`` can find, with our site name (``mlp.1``) in its own field ``site``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from superposition.io import atomic_save_safetensors, atomic_write_json
from superposition.sae import get_architecture
from superposition.sae.base import SAEStack
from superposition.sae.relu_l1 import normalized_decoder

__all__ = ["SAELENS_FORMAT_VERSION", "SAE_WEIGHTS", "SAE_CONFIG", "transformer_lens_hook", "folder_name",
           "saelens_tensors", "write_saelens", "load_exported", "encode_exported", "decode_exported"]

SAELENS_FORMAT_VERSION = "6.54.12"  # the sae-lens release whose layout this writes (tests load it with that release)
SAE_WEIGHTS = "sae_weights.safetensors"
SAE_CONFIG = "cfg.json"
_SHORT = {"l1_coefficient": "l1", "k": "k", "l0_coefficient": "l0"}


def transformer_lens_hook(site: str) -> str:
    """The TransformerLens hook name of one of our activation sites: ``mlp.L`` → ``blocks.L.mlp.hook_post``,
    ``resid.L`` → ``blocks.L.hook_resid_post``, ``embeddings`` → ``blocks.0.hook_resid_pre``."""
    if site == "embeddings":
        return "blocks.0.hook_resid_pre"
    match = re.fullmatch(r"(mlp|resid)\.(\d+)", site)
    if match is None:
        raise ValueError(f"unknown site {site!r}: sites are 'embeddings', 'resid.<layer>' and 'mlp.<layer>'")
    kind, layer = match.groups()
    return f"blocks.{layer}.mlp.hook_post" if kind == "mlp" else f"blocks.{layer}.hook_resid_post"


def folder_name(architecture: str, dict_size: int, sparsity: float) -> str:
    """One model's folder, e.g. ``relu_l1_J1536_l1_0.1``, ``topk_J768_k_32``."""
    name = get_architecture(architecture).sparsity_name
    return f"{architecture}_J{dict_size}_{_SHORT[name]}_{sparsity:g}"


@torch.no_grad()
def saelens_tensors(stack: SAEStack, index: int, scale: float) -> tuple[str, dict[str, torch.Tensor]]:
    """(SAELens architecture, float32 tensors) of model ``index`` of ``stack``, for raw inputs x = x_train / scale."""
    architecture = stack.architecture
    if architecture == "jumprelu":
        scale = scale * float(stack.buffers["input_scale"][index])
    w_dec = stack.w_dec[index]
    b_dec = stack.params["b_dec"][index] if "b_dec" in stack.params else torch.zeros(stack.dim)
    tensors = {"W_enc": stack.w_enc[index].T * scale, "b_enc": stack.b_enc[index].clone(),
               "W_dec": (normalized_decoder(w_dec) if architecture == "relu_l1" else w_dec) / scale,
               "b_dec": b_dec / scale}
    on_disk = get_architecture(architecture).saelens_architecture
    if architecture == "jumprelu":
        tensors["threshold"] = stack.params["log_threshold"][index].exp()
    if architecture == "batchtopk":
        threshold = stack.buffers["threshold"][index]
        if not torch.isfinite(threshold):
            raise ValueError("batchtopk: the inference threshold was never estimated; it cannot be exported")
        tensors["threshold"] = threshold.expand(stack.dict_size).clone()
    return on_disk, {name: tensor.float().contiguous() for name, tensor in tensors.items()}


def write_saelens(stack: SAEStack, index: int, folder: Path, scale: float, metadata: dict,
                  sparsity: float, training_steps: int) -> Path:
    """Write model ``index`` of ``stack`` to ``folder`` (cfg.json + sae_weights.safetensors); returns the folder.

    ``metadata`` (model_name, site, dataset_path, …) goes into cfg.json's ``metadata`` beside what this adds:
    the version keys, ``hook_name`` (from ``site``), the training architecture and its sparsity value (the
    config's decimal ``sparsity``), the activation scale and the training steps.
    """
    arch = get_architecture(stack.architecture)
    on_disk, tensors = saelens_tensors(stack, index, scale)
    cfg = {"architecture": on_disk, "d_in": int(stack.dim), "d_sae": int(stack.dict_size), "dtype": "float32",
           "device": "cpu", "apply_b_dec_to_input": True, "normalize_activations": "none",
           "reshape_activations": "none"}
    if on_disk == "topk":
        cfg.update(k=int(sparsity), rescale_acts_by_decoder_norm=False)
    hook = {"hook_name": transformer_lens_hook(metadata["site"])} if "site" in metadata else {}
    value = int(sparsity) if arch.sparsity_name == "k" else float(sparsity)
    cfg["metadata"] = {"sae_lens_version": SAELENS_FORMAT_VERSION,
                       "sae_lens_training_version": SAELENS_FORMAT_VERSION, **metadata, **hook,
                       "training_architecture": stack.architecture, arch.sparsity_name: value,
                       "activation_scale": float(scale), "training_steps": int(training_steps),
                       "trained_by": "superposition.sweep (not SAELens's trainer; the layout is sae-lens 6.54's)"}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_save_safetensors(tensors, folder / SAE_WEIGHTS, {})
    atomic_write_json(folder / SAE_CONFIG, cfg)
    return folder


def load_exported(folder: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(cfg, tensors) of one exported SAE, read without SAELens."""
    from safetensors.torch import load_file

    return json.loads((folder / SAE_CONFIG).read_text(encoding="utf-8")), load_file(folder / SAE_WEIGHTS)


def encode_exported(cfg: dict, tensors: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """SAELens's encoder of ``cfg["architecture"]`` on raw activations x (batch, d_in) -> (batch, d_sae)."""
    pre = (x - tensors["b_dec"]) @ tensors["W_enc"] + tensors["b_enc"]
    if cfg["architecture"] == "standard":
        return torch.relu(pre)
    if cfg["architecture"] == "topk":
        values, index = pre.topk(cfg["k"], dim=-1)
        return torch.zeros_like(pre).scatter(-1, index, values.relu())
    if cfg["architecture"] == "jumprelu":
        return torch.relu(pre) * (pre > tensors["threshold"])
    raise ValueError(f"unknown SAELens architecture {cfg['architecture']!r}")


def decode_exported(tensors: dict[str, torch.Tensor], codes: torch.Tensor) -> torch.Tensor:
    """SAELens's decoder: codes (batch, d_sae) -> (batch, d_in)."""
    return codes @ tensors["W_dec"] + tensors["b_dec"]
