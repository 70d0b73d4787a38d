"""The experiment manifest: it loads, everything derived from it is in step, and bad entries are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from superposition.config import ConfigError
from superposition.manifest import MANIFEST_FILE, dvc_yaml, load_manifest, rule_names, script_paths
from tests.conftest import REPO


@pytest.fixture(scope="module")
def manifest():
    return load_manifest(REPO / MANIFEST_FILE)


def test_checked_in_dvc_yaml_is_generated_from_the_manifest(manifest):
    assert (REPO / "dvc.yaml").read_text() == dvc_yaml(manifest, REPO), "run `make dvc-yaml`"


def test_every_stage_has_its_rule_file_target_and_files(manifest):
    for stage in manifest.stages:
        text = (REPO / stage.rule_file).read_text()
        assert stage.target_rule in rule_names(text), f"{stage.rule_file} lacks rule {stage.target_rule}"
        for script in script_paths(text):
            assert (REPO / script).is_file(), script
        if stage.is_experiment:
            assert (REPO / stage.notebook).is_file(), stage.notebook
            assert stage.figures, f"{stage.name} declares no figures"
            assert f'report_outputs("{stage.name}")' in text, f"{stage.name}'s report rule must use report_outputs"


def test_every_experiment_has_a_docs_page_linked_from_the_readme(manifest):
    readme = (REPO / "README.md").read_text()
    for experiment in manifest.experiments:
        page = f"docs/experiments/{experiment.name}.md"
        assert (REPO / page).is_file(), page
        assert f"({page})" in readme, f"README.md does not link {page}"


def test_dvc_stages_follow_the_reads(manifest):
    stages = yaml.safe_load(dvc_yaml(manifest, REPO))["stages"]
    assert list(stages) == [stage.name for stage in manifest.stages] + ["scorecard", "site"]
    lm_sae = stages["lm_sae"]
    assert "results/toy_sae/metrics.csv" in lm_sae["deps"] and "data/activations" in lm_sae["deps"]
    assert {"toy_sae_evaluate", "activations_cache", "lm_sae_train"} <= set(lm_sae["cmd"].split())
    # Every output is cached (shared by dvc push/pull) except the site's (its timings differ per run); each command
    # first restores the outputs' cached times.
    assert all(out[path] == {"persist": True} for name, stage in stages.items() if name != "site"
               for out in stage["outs"] for path in out)
    assert all(out[path] == {"persist": True, "cache": False} for out in stages["site"]["outs"] for path in out)
    assert all(stage["cmd"].startswith(f"python -m superposition.dvc_stage restore-times {name} && snakemake ")
               for name, stage in stages.items() if name != "site")  # the site's outputs are not cached
    assert "lm_sae.site" in stages["lm"]["params"][0]["config.yaml"]
    assert set(stages["scorecard"]["deps"]) >= set(manifest.claims_files)
    # Every stage may copy MathJax for its report (a rule of common.smk); the site reads every experiment's results.
    assert all("report_mathjax" in stage["cmd"].split() for name, stage in stages.items() if name != "scorecard")
    assert set(stages["site"]["deps"]) >= {e.results_dir for e in manifest.experiments}


def test_rule_and_script_parsing_known_answer():
    text = 'rule a_b:\n    script:\n        "../scripts/x.py"\n\n\nrule c:\n    script:\n        "../scripts/render.py"\n'
    assert rule_names(text) == ["a_b", "c"]
    assert script_paths(text) == ["workflow/scripts/render.py", "workflow/scripts/x.py"]


def _write(tmp_path: Path, entries: list[dict], shared: list[dict] | None = None) -> Path:
    path = tmp_path / "experiments.yaml"
    path.write_text(yaml.safe_dump({"shared": shared or [], "experiments": entries}))
    return path


def _entry(name: str, **extra) -> dict:
    return {"name": name, "title": "t", "config_class": "superposition.tms.config.TMSConfig",
            "outs": [f"results/{name}"], **extra}


def test_bad_manifests_are_refused_naming_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="repeat.*'a'"):
        load_manifest(_write(tmp_path, [_entry("a"), _entry("a")]))
    with pytest.raises(ConfigError, match="reads.*no other stage"):
        load_manifest(_write(tmp_path, [_entry("a", reads=["results/zzz/x.csv"])]))
    with pytest.raises(ConfigError, match="listed after it"):
        load_manifest(_write(tmp_path, [_entry("a", reads=["results/b/x.csv"]), _entry("b")]))
    with pytest.raises(ConfigError, match="experiments.0.figures"):
        load_manifest(_write(tmp_path, [_entry("a", figures=["not", "a", "mapping"])]))
    with pytest.raises(ConfigError, match="lower_snake_case"):
        load_manifest(_write(tmp_path, [_entry("Bad-Name")]))


ADAPTER_ALLOWED = {"input", "output", "params", "log", "threads", "resources", "wildcards"}


@pytest.mark.parametrize("script", sorted((REPO / "workflow/scripts").glob("*.py")), ids=lambda p: p.name)
def test_adapters_read_only_what_snakemake_tracks(script):
    """Snakemake reruns a job when its input, params or code change; a config read inside a script is invisible."""
    text = script.read_text()
    used = set(re.findall(r"snakemake\.(\w+)", text))
    assert used <= ADAPTER_ALLOWED, f"{script.name} reads snakemake.{sorted(used - ADAPTER_ALLOWED)}"
    assert "load_workflow_config" not in text
    assert len(text.splitlines()) <= 40, f"{script.name}: an adapter unpacks, calls one function and writes"


def test_generated_docs_blocks_are_in_step_with_the_manifest(manifest):
    from superposition.docs import experiments_table, figures_block, read_block

    assert read_block((REPO / "README.md").read_text(), "experiments") == experiments_table(manifest), "make docs"
    for experiment in manifest.experiments:
        page = (REPO / f"docs/experiments/{experiment.name}.md").read_text()
        assert read_block(page, "figures") == figures_block(experiment), f"make docs ({experiment.name})"
        assert read_block(page, "results") is not None


def test_docs_blocks_are_replaced_between_their_markers(tmp_path):
    from superposition.docs import read_block, replace_block

    text = "a\n<!-- BEGIN GENERATED x -->\nold\n<!-- END GENERATED x -->\nb\n"
    assert replace_block(text, "x", "new\nlines") == "a\n<!-- BEGIN GENERATED x -->\nnew\nlines\n<!-- END GENERATED x -->\nb\n"
    assert read_block(text, "x") == "old" and read_block(text, "y") is None
    with pytest.raises(ValueError, match="no generated block 'y'"):
        replace_block(text, "y", "z")
