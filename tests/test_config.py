"""Config validation: the stored schema matches the dataclasses, and bad values name their key."""

import copy

import pytest
import yaml
from snakemake.utils import update_config

from superposition import workflow_config
from superposition.config import ConfigError, schema_yaml
from superposition.manifest import load_manifest
from tests.conftest import REPO

MANIFEST = REPO / "workflow/experiments.yaml"


def load_workflow_config(config: dict, schema_file=None):
    """The repository's manifest, whatever the working directory."""
    return workflow_config.load_workflow_config(config, schema_file, MANIFEST)


@pytest.fixture
def default_config(repo):
    return yaml.safe_load((repo / "config.yaml").read_text())


def test_stored_schema_is_generated_from_the_dataclasses(repo):
    stored = (repo / "workflow/schemas/config.schema.yaml").read_text()
    root = workflow_config.workflow_config_class(load_manifest(MANIFEST))
    assert stored == schema_yaml(root), "run `make schema` to regenerate the stored schema"


def test_a_missing_experiment_section_is_named(default_config):
    del default_config["tms"]
    assert "'tms' is a required property" in _error_for(default_config)


def test_default_config_is_valid_and_typed(default_config, repo):
    config = load_workflow_config(default_config, repo / "workflow/schemas/config.schema.yaml")
    assert config.toy_sae.data.n_features == 512
    assert isinstance(config.toy_sae.train.sparsities, tuple) and config.toy_sae.train.architecture == "relu_l1"
    assert all(isinstance(v, float) for v in config.toy_sae.train.dict_ratios)


@pytest.mark.parametrize("tier", ["paper", "smoke"])
def test_tier_configs_are_valid_overrides(default_config, repo, tier):
    merged = copy.deepcopy(default_config)
    update_config(merged, yaml.safe_load((repo / f"configs/{tier}.yaml").read_text()))
    load_workflow_config(merged)


def _error_for(config: dict) -> str:
    with pytest.raises(ConfigError) as error:
        load_workflow_config(config)
    return str(error.value)


def test_bad_enum_names_key_and_allowed_values(default_config):
    default_config["device"] = "gpu"
    message = _error_for(default_config)
    assert "'device'" in message and "'gpu'" in message and "auto" in message and "cuda" in message


def test_out_of_range_value_names_the_nested_key(default_config):
    default_config["toy_sae"]["train"]["lr"] = -0.1
    message = _error_for(default_config)
    assert "toy_sae.train.lr" in message and "0" in message and "learning rate" in message


def test_bad_list_item_names_its_index(default_config):
    default_config["toy_sae"]["train"]["sparsities"][2] = "big"
    assert "toy_sae.train.sparsities.2" in _error_for(default_config)


def test_unknown_key_is_refused_with_the_allowed_keys(default_config):
    default_config["toy_sae"]["train"]["learning_rate"] = 0.1
    message = _error_for(default_config)
    assert "learning_rate" in message and "'lr'" in message


def test_missing_key_is_named(default_config):
    del default_config["toy_sae"]["evaluate"]["dead_window"]
    message = _error_for(default_config)
    assert "toy_sae.evaluate" in message and "dead_window" in message


def test_every_error_is_reported_at_once(default_config):
    default_config["device"] = "tpu"
    default_config["toy_sae"]["data"]["decay"] = 2
    message = _error_for(default_config)
    assert "'device'" in message and "toy_sae.data.decay" in message


def test_model_registry_is_typed_and_references_are_checked(default_config):
    typed = load_workflow_config(default_config)
    assert typed.lm.models["minilm_l3"].kind == "onnx_package"
    assert typed.lm.activations[0].sites == ("mlp.1",)
    bad = copy.deepcopy(default_config)
    bad["lm_sae"]["model"] = "gpt9"
    assert "config key 'lm_sae.model': unknown model 'gpt9'" in _error_for(bad)
    bad = copy.deepcopy(default_config)
    bad["lm"]["prepare_models"] = ["minilm_l6", "nope"]
    assert "config key 'lm.prepare_models': unknown model 'nope'" in _error_for(bad)
    bad = copy.deepcopy(default_config)
    bad["lm"]["models"]["minilm_l6"]["kind"] = "zip"
    assert "config key 'lm.models.minilm_l6.kind'" in _error_for(bad) and "onnx_package" in _error_for(bad)
    bad = copy.deepcopy(default_config)
    bad["lm"]["activations"][0]["variant"] = "random"
    assert "lm.activations.0.variant" in _error_for(bad) and "rerandomised" in _error_for(bad)


def test_config_files_are_checked_with_one_line_naming_file_and_line(tmp_path):
    from superposition.config import check_snakemake_arguments, read_config_file

    bad = tmp_path / "bad.yaml"
    bad.write_text("toy_sae:\n  train: [1, 2\n  lr: 3\n")
    with pytest.raises(ConfigError, match=r"config file .*bad.yaml line 3, column 5"):
        read_config_file(bad)
    with pytest.raises(ConfigError, match=r"config file .*missing.yaml: not found"):
        check_snakemake_arguments(["--cores", "2", "--configfile", str(tmp_path / "missing.yaml")])
    with pytest.raises(ConfigError, match="write targets before --configfile"):
        check_snakemake_arguments(["--configfile", "configs/smoke.yaml", "results/tms/report.html"])
    with pytest.raises(ConfigError, match="if it is a target, write it before --configfile"):
        check_snakemake_arguments(["--configfile", str(tmp_path / "results/tms/claims.json")])
    good = tmp_path / "good.yaml"
    good.write_text("device: cpu\n")
    assert check_snakemake_arguments(["results/tms/claims.json", "--configfile", str(good), "-n"]) == [str(good)]


def test_a_target_read_as_a_config_file_gets_a_hint(default_config):
    default_config["experiment"] = "tms"
    assert "write targets first" in _error_for(default_config)


def test_unknown_architecture_names_the_choices(default_config):
    default_config["lm_sae"]["train"]["architecture"] = "gated"
    message = _error_for(default_config)
    assert "lm_sae.train.architecture" in message and "'gated'" in message and "batchtopk" in message


def test_the_config_lists_the_registered_architectures():
    from typing import get_args

    from superposition.sae import ARCHITECTURE_NAMES
    from superposition.sweep_config import ArchitectureName

    assert get_args(ArchitectureName) == ARCHITECTURE_NAMES
