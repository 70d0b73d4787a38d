"""Ground truth of experiment `toy_sae`: draw, save and load the toy data's features and covariance."""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open

from superposition.io import atomic_save_safetensors
from superposition.toy_data import ToyDataGenerator
from superposition.toy_sae.config import ToyDataConfig

__all__ = ["make_ground_truth", "load_ground_truth"]


def make_ground_truth(config: ToyDataConfig, path: Path) -> ToyDataGenerator:
    """Draw the features and covariance of the toy data and save them (safetensors) to ``path``."""
    generator = ToyDataGenerator.create(config.n_features, config.dim, config.decay, config.mean_active,
                                        config.seed)
    metadata = {"decay": repr(config.decay), "mean_active": repr(config.mean_active), "seed": str(config.seed)}
    atomic_save_safetensors({"features": generator.features,
                             "covariance_cholesky": generator.covariance_cholesky}, path, metadata)
    return generator


def load_ground_truth(path: Path) -> ToyDataGenerator:
    """Read the generator written by :func:`make_ground_truth`."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        features = handle.get_tensor("features")
        cholesky = handle.get_tensor("covariance_cholesky")
    return ToyDataGenerator(features, cholesky, float(metadata["decay"]), float(metadata["mean_active"]))
