"""Export stage of experiment `lm_sae`: every trained SAE of the sweep in SAELens's on-disk layout.

The layout, the weight folding and the metadata rules live in :mod:`superposition.sae.saelens`; this module adds
the provenance of the activations the sweep was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

from superposition.sae.saelens import folder_name, write_saelens
from superposition.sweep import TrainedSweep, load_sweep

__all__ = ["export_trained", "export_sweep"]


def export_trained(trained: TrainedSweep, output: Path, metadata: dict) -> list[Path]:
    """Write every SAE of the sweep under ``output/<architecture>_J<size>_<sparsity>/``; returns the folders."""
    scale = float(trained.metadata["scale"])
    folders = []
    for point in trained.points():
        folder = output / folder_name(point.architecture, point.dict_size, point.sparsity)
        folders.append(write_saelens(point.stack, point.sparsity_index, folder, scale, metadata, point.sparsity,
                                     trained.steps))
    return folders


def export_sweep(sweep: Path, output: Path) -> list[Path]:
    """Export every SAE of a saved sweep (see :func:`export_trained`), with its provenance as metadata."""
    trained = load_sweep(sweep)
    activations = json.loads(trained.metadata["activations"])
    metadata = {"model_name": activations["model"], "site": activations["site"],
                "model_variant": activations["variant"], "dataset_path": "data/corpus/train.txt",
                "corpus_sha256": activations["corpus_sha256"], "prepend_bos": False}
    return export_trained(trained, output, metadata)
