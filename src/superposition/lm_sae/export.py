"""Trained SAEs in the layout SAELens reads (``SAE.load_from_disk``): ``sae_weights.safetensors`` + ``cfg.json``.

SAELens's ``standard`` architecture computes ``f = ReLU((x − b_dec) W_enc + b_enc)`` and ``x̂ = f W_dec + b_dec``.
Ours saw activations multiplied by a scale s and has unit-norm dictionary rows D̂ and no decoder bias, so on
raw activations: ``W_enc = s · W_eᵀ`` (d_in, d_sae), ``b_enc = b_e``, ``W_dec = D̂ / s`` (d_sae, d_in),
``b_dec = 0``. Latent activations keep the training units; the scale is recorded in the metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from superposition.io import atomic_save_safetensors, atomic_write_json
from superposition.sae import normalized_decoder
from superposition.sweep import TrainedSweep

SAE_WEIGHTS = "sae_weights.safetensors"
SAE_CONFIG = "cfg.json"


def sae_folder_name(dict_size: int, l1_coefficient: float) -> str:
    """The folder of one grid point, e.g. ``J1536_l1_0.1``."""
    return f"J{dict_size}_l1_{l1_coefficient:g}"


def export_saelens(trained: TrainedSweep, output: Path, metadata: dict) -> list[Path]:
    """Write every SAE of the grid under ``output/<J…_l1_…>/``; returns the folders.

    ``metadata`` goes into each cfg.json's ``metadata`` (model name, hook name, dataset, …).
    """
    scale = float(trained.metadata["scale"])
    folders = []
    for stack in trained.stacks:
        decoders = normalized_decoder(stack.w_dec)
        for index, alpha in enumerate(stack.l1_coefficients.tolist()):
            folder = output / sae_folder_name(stack.dict_size, alpha)
            folder.mkdir(parents=True, exist_ok=True)
            tensors = {"W_enc": (stack.w_enc[index].T * scale).contiguous(), "b_enc": stack.b_enc[index].clone(),
                       "W_dec": (decoders[index] / scale).contiguous(), "b_dec": torch.zeros(stack.dim)}
            atomic_save_safetensors(tensors, folder / SAE_WEIGHTS, {})
            atomic_write_json(folder / SAE_CONFIG, {
                "architecture": "standard", "d_in": stack.dim, "d_sae": stack.dict_size, "dtype": "float32",
                "device": "cpu", "apply_b_dec_to_input": True, "normalize_activations": "none",
                "reshape_activations": "none",
                "metadata": {**metadata, "l1_coefficient": alpha, "activation_scale": scale,
                             "training_steps": trained.steps},
            })
            folders.append(folder)
    return folders


def load_exported(folder: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(cfg, tensors) of one exported SAE, read without SAELens."""
    from safetensors.torch import load_file

    return json.loads((folder / SAE_CONFIG).read_text(encoding="utf-8")), load_file(folder / SAE_WEIGHTS)


def encode_exported(tensors: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """SAELens's standard encoder on raw activations x (batch, d_in) -> (batch, d_sae)."""
    return torch.relu((x - tensors["b_dec"]) @ tensors["W_enc"] + tensors["b_enc"])


def export_sweep(sweep: Path, output: Path) -> list[Path]:
    """Export every SAE of a saved sweep (see :func:`export_saelens`), with its provenance as metadata."""
    from superposition.sweep import load_sweep

    trained = load_sweep(sweep)
    activations = json.loads(trained.metadata["activations"])
    metadata = {"model_name": activations["model"], "hook_name": activations["site"],
                "model_variant": activations["variant"], "dataset_path": "data/corpus/train.txt",
                "corpus_sha256": activations["corpus_sha256"], "prepend_bos": False}
    return export_saelens(trained, output, metadata)
