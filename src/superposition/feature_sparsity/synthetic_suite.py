"""Section 3.1 and Appendices D–E: code every dataset of one synthetic setting and measure its metrics."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from superposition.feature_sparsity import synthetic
from superposition.feature_sparsity.config import SyntheticConfig, SyntheticSetting
from superposition.feature_sparsity.measure import code_and_measure
from superposition.io import atomic_write_json
from superposition.runtime import derived_seed, make_generator, resolve_device, retain_freed_memory

log = logging.getLogger(__name__)

CONTROLS = ("gaussian", "heavy_tailed", "rademacher")

__all__ = ["CONTROLS", "synthetic_datasets", "run_synthetic_setting"]


def synthetic_datasets(setting_name: str, setting: SyntheticSetting, config: SyntheticConfig) -> dict[str, dict]:
    """Every dataset of one setting: ``sparse_a<a>`` for each a, then the three controls.

    Each is (n, d), centred and scaled to average L2 norm 1 (Appendix D's scaling for Fig 4; the other metrics
    are scale invariant, so one set of runs serves Figs 1 and 4). Returns name -> {kind, active, data}.
    """
    n, d = config.n_samples, setting.d
    datasets: dict[str, dict] = {}
    for active in config.active:
        generator = make_generator(derived_seed(config.data_seed, setting_name, "sparse", active))
        data = synthetic.sparse_linear(n, d, active, setting.features_per_dim, setting.sigma, generator)
        datasets[f"sparse_a{active:g}"] = {"kind": "sparse_linear", "active": float(active), "data": data}
    makers = {"gaussian": synthetic.gaussian, "heavy_tailed": synthetic.heavy_tailed,
              "rademacher": synthetic.rademacher}
    for kind in CONTROLS:
        generator = make_generator(derived_seed(config.data_seed, setting_name, kind))
        datasets[kind] = {"kind": kind, "active": None, "data": makers[kind](n, d, generator)}
    for entry in datasets.values():
        entry["data"] = synthetic.to_unit_mean_norm(entry["data"])
    return datasets


def run_synthetic_setting(setting_name: str, config: SyntheticConfig, device: str, output: Path | str,
                          progress: bool = True) -> dict:
    """Code all datasets of ``setting_name`` as one stack (adaptive λ); write and return their metrics."""
    retain_freed_memory()
    setting = config.setting(setting_name)
    datasets = synthetic_datasets(setting_name, setting, config)
    target = resolve_device(device)
    x = torch.stack([entry["data"] for entry in datasets.values()]).to(target)
    generator = make_generator(derived_seed(config.coder.seed, setting_name), target)
    log.info("setting %s: %d datasets, n=%d, d=%d, dictionary %d×d", setting_name, len(datasets), x.shape[1],
             setting.d, setting.dict_ratio)
    rows, _ = code_and_measure(x, config.coder, setting.dict_ratio * setting.d, None, generator, 0, progress,
                               f"synthetic {setting_name}")
    results = []
    for (name, entry), row in zip(datasets.items(), rows):
        active = entry["active"]
        results.append({"dataset": name, "kind": entry["kind"], "active": active,
                        "true_sparsity": None if active is None else active / 2, **row})
        log.info("%-14s S1 %.3g  L_norm %.3g  N0 %.3g  L %.3g  VE %.4f  (a/2 = %s)", name, row["s1"],
                 row["normalized_loss"], row["n0"], row["final_loss"], row["variance_explained"],
                 "—" if active is None else f"{active / 2:g}")
    payload = {"setting": setting_name, "d": setting.d, "dict_ratio": setting.dict_ratio, "sigma": setting.sigma,
               "features_per_dim": setting.features_per_dim, "figure": setting.figure,
               "n_samples": config.n_samples, "rows": results}
    atomic_write_json(output, payload)
    return payload
