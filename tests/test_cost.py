"""Expected compute per stage: the shared formulas' known answers, and every stage's estimate on every tier."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from superposition.cost import GPU_FLOPS, Cost, model_size, sae_training_flops, stage_costs
from superposition.manifest import MANIFEST_FILE, load_manifest
from superposition.site import merged
from superposition.tms.cost import expected_cost as tms_cost
from superposition.toy_sae.cost import expected_cost as toy_sae_cost

REPO = Path(__file__).resolve().parents[1]
MANIFEST = load_manifest(REPO / MANIFEST_FILE)
FUNCTIONS = {stage.name: stage.cost for stage in MANIFEST.stages if stage.cost}


def _tier(name: str) -> dict:
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    return base if name == "default" else merged(base, yaml.safe_load((REPO / f"configs/{name}.yaml").read_text()))


def test_sae_training_is_six_times_parameters_times_examples():
    # d = 2, 3 latents: 12 parameters; 10 examples -> 6 * 12 * 10 FLOP.
    assert sae_training_flops(2, 3, 10) == 720.0
    assert Cost(GPU_FLOPS * 3600, "").gpu_hours == 1.0
    assert (Cost(1.0, "a") + Cost(2.0, "b")) == Cost(3.0, "a; b")


def test_toy_sae_known_answer_on_a_hand_built_config():
    grid = {"architecture": "relu_l1", "sparsities": [0.1], "lr": 0.1, "adam": {}}
    config = {"toy_sae": {"data": {"dim": 2, "n_features": 4},
                          "train": {"sparsities": [0.1, 0.3], "dict_ratios": [1, 2], "batch_size": 5, "steps": 7},
                          "evaluate": {"eval_samples": 11},
                          "architectures": {"train": {"grids": [grid, grid], "dict_ratios": [1], "batch_size": 3,
                                                      "steps": 2}}}}
    latents = 2 * (1 + 2) * 4  # two sparsities, J = 4 and 8
    expected = 12 * 2 * latents * 5 * 7 + 4 * 2 * latents * 11 + 12 * 2 * (2 * 4) * 3 * 2
    assert toy_sae_cost(config).flops == expected


def test_tms_known_answer_on_a_hand_built_config():
    part = {"steps": 3, "n_features": 5, "n_hidden": 2, "sparsities": [0.0, 0.5]}
    config = {"tms": {"train": {"batch_size": 4}, "intro": part, "sparsity_sweep": part,
                      "phase": {"steps": 3, "importance_points": 2, "density_points": 3, "replicates": 1},
                      "dimensionality": {"steps": 1, "n_features": 10, "n_hidden": 1, "levels": 2}}}
    expected = 2 * 12 * 5 * 2 * 2 * 3 * 4 + 12 * 2 * 1 * 6 * 3 * 4 + 12 * 10 * 1 * 2 * 1 * 4
    assert tms_cost(config).flops == expected


@pytest.mark.parametrize("tier", ["smoke", "default", "paper"])
def test_every_stage_estimates_a_positive_cost_on_every_tier(tier):
    costs = stage_costs(FUNCTIONS, _tier(tier), _tier("paper"))
    assert set(costs) == {stage.name for stage in MANIFEST.stages}
    for stage, (here, paper) in costs.items():
        assert math.isfinite(here.flops) and here.flops > 0, (stage, here)
        assert paper.flops >= here.flops, f"{stage}: the paper tier should cost at least the {tier} tier"


def test_the_paper_tier_matches_the_toy_sweep_size_its_config_states():
    # configs/paper.yaml: 136 SAEs with 554,880 latents in all, batch 256, 20,000 steps, h = 256.
    cost = toy_sae_cost(_tier("paper"))
    assert "554,880" in cost.what
    assert cost.flops == pytest.approx(sae_training_flops(256, 554_880, 256 * 20_000), rel=0.05)


def test_unknown_models_are_named():
    with pytest.raises(KeyError, match="no size recorded for model 'gpt5'"):
        model_size("gpt5")
    config = _tier("default")
    config["lm_sae"] = dict(config["lm_sae"], model="gpt5")
    here, _ = stage_costs({"lm_sae": FUNCTIONS["lm_sae"]}, config, _tier("paper"))["lm_sae"]
    assert math.isnan(here.flops) and "gpt5" in here.what
