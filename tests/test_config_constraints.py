"""Constraints between keys are checked when the config loads, with one message naming the keys involved."""

from __future__ import annotations

import copy

import pytest
import yaml

from superposition.config import ConfigError
from superposition.smoke import merged_config
from superposition.workflow_config import load_workflow_config
from tests.conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def _error(edit, base: dict = DEFAULT) -> str:
    config = copy.deepcopy(base)
    edit(config)
    with pytest.raises(ConfigError) as error:
        load_workflow_config(config, manifest=REPO / "workflow/experiments.yaml")
    return str(error.value)


def _setting(name: str) -> dict:
    return {"name": name, "d": 8, "dict_ratio": 2, "sigma": 0.1, "features_per_dim": 2, "figure": "x"}


CASES = {
    "synthetic setting names repeat": (
        lambda c: c["feature_sparsity"]["synthetic"].update(settings=[_setting("main"), _setting("main")]),
        ["feature_sparsity.synthetic.settings", "'main'"]),
    "tms intro must be 2-D": (lambda c: c["tms"]["intro"].update(n_hidden=3), ["tms.intro.n_hidden", "must be 2"]),
    "toy mean_active above n_features": (
        lambda c: c["toy_sae"]["data"].update(mean_active=600), ["toy_sae.data.mean_active", "toy_sae.data.n_features"]),
    "toy ratio gives a fractional size": (
        lambda c: c["toy_sae"]["train"].update(dict_ratios=[0.5, 0.3]),
        ["toy_sae.train.dict_ratios", "toy_sae.data.n_features", "0.3 × 512"]),
    "toy dead-latent appendix retrains a cell the sweep lacks": (
        lambda c: c["toy_sae"]["dead_latents"].update(sparsities=[0.5]),
        ["toy_sae.dead_latents.sparsities", "toy_sae.train.sparsities", "[0.5]"]),
    "toy dead-latent appendix window longer than training": (
        lambda c: c["toy_sae"]["dead_latents"].update(windows=[500, 10 ** 6]),
        ["toy_sae.dead_latents.windows", "toy_sae.train.steps"]),
    "toy dead-latent appendix retraining shorter than a window": (
        lambda c: c["toy_sae"]["dead_latents"].update(steps=400),
        ["toy_sae.dead_latents.windows", "toy_sae.dead_latents.steps", "(400)"]),
    "toy dead window longer than training": (
        lambda c: c["toy_sae"]["evaluate"].update(dead_window=5000),
        ["toy_sae.evaluate.dead_window", "toy_sae.train.steps"]),
    "topk k is not a whole number": (
        lambda c: (c["toy_sae"]["train"].update(architecture="topk", sparsities=[4, 5.5]),
                   c["toy_sae"]["train"]["options"].update(dead_tokens=1000)),
        ["toy_sae.train.sparsities", "whole numbers"]),
    "topk k larger than the smallest dictionary": (
        lambda c: (c["toy_sae"]["train"].update(architecture="topk", sparsities=[300]),
                   c["toy_sae"]["train"]["options"].update(dead_tokens=1000)),
        ["toy_sae.train.sparsities", "toy_sae.train.dict_ratios", "256 latents"]),
    "AuxK window longer than training": (
        lambda c: c["toy_sae"]["train"].update(architecture="batchtopk", sparsities=[5]),
        ["toy_sae.train.options.dead_tokens", "toy_sae.train.steps", "1152000 tokens"]),
    "lm_sae dead window longer than training": (
        lambda c: c["lm_sae"]["evaluate"].update(dead_window=601), ["lm_sae.evaluate.dead_window", "lm_sae.train.steps"]),
    "lm_sae ratio gives a fractional size": (
        lambda c: c["lm_sae"]["train"].update(dict_ratios=[0.5, 1.0001]), ["lm_sae.train.dict_ratios", "mlp.1"]),
    "lm_sae layer beyond the model": (
        lambda c: c["lm_sae"].update(site="mlp.6"), ["lm_sae.site", "layers 0–5", "'mlp.6'"]),
    "lm_sae unknown site": (lambda c: c["lm_sae"].update(site="attn.1"), ["lm_sae.site", "unknown site 'attn.1'"]),
    "cache site beyond the model": (
        lambda c: c["lm"]["activations"][0].update(sites=["mlp.1", "resid.9"]),
        ["lm.activations.0.sites.1", "'resid.9'", "layers 0–5"]),
    "feature_sparsity layers beyond the model": (
        lambda c: c["feature_sparsity"]["layers"].update(models=[{"model": "minilm_l6", "layers": 7}]),
        ["feature_sparsity.layers.models.0.layers", "6 layers"]),
    "phase importance range reversed": (
        lambda c: c["tms"]["phase"].update(importance_min=10.0, importance_max=0.1),
        ["tms.phase.importance_min", "tms.phase.importance_max", "reversed"]),
    "phase density range reversed": (
        lambda c: c["tms"]["phase"].update(density_min=1.0, density_max=0.01),
        ["tms.phase.density_min", "tms.phase.density_max"]),
    "sparsity levels out of order": (
        lambda c: c["tms"]["sparsity_sweep"].update(sparsities=[0.0, 0.9, 0.7]),
        ["tms.sparsity_sweep.sparsities", "increase"]),
}


@pytest.mark.parametrize("case", CASES)
def test_cross_field_errors_name_their_keys(case):
    edit, expected = CASES[case]
    message = _error(edit)
    assert all(part in message for part in expected), message
    assert message.count("\n") == 0, "one message, one line"


def test_the_tiers_and_overlays_satisfy_every_constraint():
    overlays = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "configs").glob("*.yaml"))
    assert {"configs/smoke.yaml", "configs/paper.yaml", "configs/toy_sae_long.yaml"} <= set(overlays)
    for overlay in overlays:
        load_workflow_config(merged_config(REPO, overlay), manifest=REPO / "workflow/experiments.yaml")


def test_a_model_whose_config_is_not_on_this_machine_is_checked_by_its_job_instead():
    # minilm_l3 is an ONNX file until the workflow converts it: only the site's form can be checked here.
    config = copy.deepcopy(DEFAULT)
    config["lm"]["activations"][0].update(model="minilm_l3", sites=["resid.9"])
    load_workflow_config(config, manifest=REPO / "workflow/experiments.yaml")
    config["lm"]["activations"][0].update(sites=["resid"])
    with pytest.raises(ConfigError, match="unknown site 'resid'"):
        load_workflow_config(config, manifest=REPO / "workflow/experiments.yaml")
