"""End to end: the whole DAG on the smoke tier in a scratch copy of the repository, plus DVC and interruption.

These tests run real Snakemake (and DVC) subprocesses with this interpreter's environment; together they take
one to two minutes.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.utils import update_config

from tests.lm_factories import build_tiny_bert, write_corpus

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "config.yaml", "configs", "workflow", "notebooks", "dvc.yaml", ".dvc/config", "src",
                  "envs"]
TOY_SAE_FIGURES = ["fig01_mmcs_vs_l1", "fig02_mmcs_vs_ratio", "fig03_mmcs_heatmap", "fig04_dead_latents",
                   "fig05_reconstruction_loss", "fig06_l1_loss", "fig07_std_log_reconstruction", "fig08_std_log_l1",
                   "fig09_ssll", "fig10_mmcs_with_larger", "training_curves", "recovery_by_frequency"]
TMS_FIGURES = ["intro_relu", "intro_linear", "sparsity_wtw", "sparsity_norms", "phase_diagram",
               "dimensionality_d_star", "dimensionality_per_feature", "training_curves"]
TMS_PARTS = ["intro", "sparsity_sweep", "phase", "dimensionality"]
LM_SAE_FIGURES = ["dead_latents", "ssll", "mmcs_with_larger", "fraction_variance_unexplained", "training_curves"]
FEATURE_SPARSITY_FIGURES = ["fig1a_true_sparsity", "fig1b_separation", "fig4_n0_final_loss", "ablations",
                            "fig2_embeddings", "fig9_embeddings_s1", "fig3_layers", "fig10_layers_s1",
                            "fig3b_variance_explained"]
EXPERIMENTS = {"toy_sae": 6, "tms": 7, "lm_sae": 5, "feature_sparsity": 7}  # experiment -> number of claims
OUTPUTS = (["data/toy_sae/ground_truth.safetensors", "results/toy_sae/sweep.safetensors",
            "results/toy_sae/metrics.csv", "results/toy_sae/metrics.json", "results/toy_sae/training_history.csv",
            "results/toy_sae/recovery_by_frequency.csv", "results/tms/metrics.json", "results/scorecard.md",
            "results/scorecard.html"]
           + [f"results/{e}/{name}" for e in EXPERIMENTS for name in ("claims.json", f"{e}.ipynb", "report.html")]
           + [f"results/toy_sae/figures/{f}.png" for f in TOY_SAE_FIGURES]
           + [f"results/tms/figures/{f}.png" for f in TMS_FIGURES]
           + [f"results/tms/models/{part}.safetensors" for part in TMS_PARTS]
           + ["data/corpus/train.txt", "data/corpus/eval.txt", "data/corpus/LICENCE.txt", "data/corpus/corpus.json",
              "data/models/tiny_bert/model.json", "data/models/minilm_l3/model.json",
              "data/models/minilm_l3/hf/model.safetensors", "data/activations/tiny_bert/trained/mlp.1/manifest.json",
              "data/activations/tiny_bert/rerandomised/embeddings/manifest.json",
              "data/activations/tiny_bert/rerandomised/resid.0/manifest.json",
              "results/lm_sae/sweep.safetensors", "results/lm_sae/metrics.csv", "results/lm_sae/history.csv",
              "results/lm_sae/saes/J32_l1_0.1/cfg.json", "results/lm_sae/saes/J16_l1_0.01/sae_weights.safetensors"]
           + [f"results/lm_sae/figures/{f}.png" for f in LM_SAE_FIGURES]
           + [f"results/feature_sparsity/{name}" for name in (
               "synthetic/main.json", "synthetic/d8.json", "embeddings/tiny_bert.json",
               "embeddings/tiny_bert.safetensors", "layers/tiny_bert.json", "features.json")]
           + [f"results/feature_sparsity/figures/{f}.png" for f in FEATURE_SPARSITY_FIGURES]
           + ["data/activations/tiny_bert/rerandomised/resid.1/manifest.json"])
LOGS = (["logs/toy_sae/data.log", "logs/toy_sae/train.log", "logs/toy_sae/evaluate.log", "logs/toy_sae/claims.log",
         "logs/toy_sae/report.log", "logs/scorecard.log", "logs/tms/analyze.log", "logs/tms/claims.log",
         "logs/tms/report.log", "logs/lm/corpus.log", "logs/lm/model_tiny_bert.log",
         "logs/lm/activations_tiny_bert_trained.log", "logs/lm/activations_tiny_bert_rerandomised.log",
         "logs/lm_sae/train.log", "logs/lm_sae/evaluate.log", "logs/lm_sae/export.log", "logs/lm_sae/claims.log",
         "logs/lm_sae/report.log", "logs/feature_sparsity/synthetic_main.log", "logs/feature_sparsity/synthetic_d8.log",
         "logs/feature_sparsity/embeddings_tiny_bert.log", "logs/feature_sparsity/layers_tiny_bert.log",
         "logs/feature_sparsity/features.log", "logs/feature_sparsity/claims.log",
         "logs/feature_sparsity/report.log"] + [f"logs/tms/train_{part}.log" for part in TMS_PARTS])


def _environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}


def run(workdir: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command of the venv (snakemake, dvc, git) in ``workdir``."""
    result = subprocess.run([*args], cwd=workdir, env=_environment(), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def make_workdir(repo: Path, destination: Path) -> Path:
    """Copy the workflow into ``destination`` with the smoke tier merged into its config.yaml."""
    for name in WORKFLOW_FILES:
        source, target = repo / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    config = yaml.safe_load((repo / "config.yaml").read_text())
    update_config(config, yaml.safe_load((repo / "configs/smoke.yaml").read_text()))
    (destination / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # The smoke tier's language model and corpus (configs/smoke.yaml names them): built here, never downloaded.
    build_tiny_bert(destination / "data/tiny_bert")
    write_corpus(destination / "data/smoke_corpus.txt")
    return destination


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """The whole DAG, run once on the smoke tier."""
    repo = Path(__file__).resolve().parents[1]
    workdir = make_workdir(repo, tmp_path_factory.mktemp("smoke"))
    run(workdir, "snakemake", "--cores", "2")
    return workdir


def test_every_declared_output_and_log_exists(smoke_run):
    missing = [p for p in OUTPUTS + LOGS if not (smoke_run / p).is_file() or (smoke_run / p).stat().st_size == 0]
    assert missing == []
    summary = run(smoke_run, "snakemake", "--summary", "--cores", "1").stdout
    assert "missing" not in summary and "update pending" not in summary


def test_no_temporary_files_are_left_behind(smoke_run):
    assert [p for p in smoke_run.rglob("*.tmp")] == []


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_claims_json_follows_its_schema_and_reaches_the_scorecard(smoke_run, experiment):
    schema = yaml.safe_load((smoke_run / "workflow/schemas/claims.schema.yaml").read_text())
    claims = json.loads((smoke_run / f"results/{experiment}/claims.json").read_text())
    jsonschema.validate(claims, schema)
    assert claims["experiment"] == experiment and claims["n_claims"] == EXPERIMENTS[experiment]
    scorecard = (smoke_run / "results/scorecard.md").read_text()
    for claim in claims["claims"]:
        assert f"| {experiment} | {claim['id']} |" in scorecard


def test_metrics_cover_the_whole_grid(smoke_run):
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())["toy_sae"]["train"]
    metrics = json.loads((smoke_run / "results/toy_sae/metrics.json").read_text())
    grid = {(p["l1_coefficient"], p["dict_ratio"]) for p in metrics["points"]}
    assert grid == {(a, float(r)) for a in config["l1_coefficients"] for r in config["dict_ratios"]}
    assert metrics["summary"]["steps"] == config["steps"]


@pytest.mark.parametrize("experiment, figures, claim", [
    ("toy_sae", TOY_SAE_FIGURES, "fig1_goldilocks"), ("tms", TMS_FIGURES, "phase_change"),
    ("lm_sae", LM_SAE_FIGURES, "fig13_mmcs_below_toy"),
    ("feature_sparsity", FEATURE_SPARSITY_FIGURES, "fig1b_separates_controls")])
def test_report_shows_figures_and_claims(smoke_run, experiment, figures, claim):
    html = (smoke_run / f"results/{experiment}/report.html").read_text()
    assert html.count("data:image/png;base64") >= len(figures)
    assert claim in html and "Interpretations" in html


def test_second_run_has_nothing_to_do(smoke_run):
    assert "Nothing to be done" in run(smoke_run, "snakemake", "--cores", "1", "-n").stdout


def test_config_change_reruns_only_what_depends_on_it(smoke_run):
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--config", "device=cpu",
              "--configfile", "configs/smoke.yaml").stdout
    assert "Nothing to be done" in dry
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    changed = copy.deepcopy(config)
    changed["toy_sae"]["evaluate"]["eval_samples"] = 256
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "toy_sae_evaluate" in dry and "toy_sae_train" not in dry and "toy_sae_data" not in dry
    assert "tms_" not in dry
    # One tms experiment's settings retrain that experiment only.
    changed = copy.deepcopy(config)
    changed["tms"]["phase"]["replicates"] += 1
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "output: results/tms/models/phase.safetensors" in dry
    assert "output: results/tms/models/intro.safetensors" not in dry
    assert "toy_sae_" not in dry
    # Extraction settings rebuild the caches and everything trained on them, not the corpus or the models.
    changed = copy.deepcopy(config)
    changed["lm"]["extraction"]["max_length"] = 16
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "activations_cache" in dry and "lm_sae_train" in dry
    assert "lm_corpus" not in dry and "lm_model_prepare" not in dry and "toy_sae_" not in dry
    # A new site for a cache reruns that cache only.
    changed = copy.deepcopy(config)
    changed["lm"]["activations"][0]["sites"].append("mlp.0")
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "output: data/activations/tiny_bert/rerandomised" in dry and "lm_sae_train" not in dry
    # Feature-table settings redo the tables only, not the embedding dictionaries; one synthetic setting's
    # coder settings redo every setting's coding but nothing of the language models.
    changed = copy.deepcopy(config)
    changed["feature_sparsity"]["features"]["top_tokens"] += 1
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "feature_sparsity_features" in dry and "feature_sparsity_embeddings" not in dry
    changed = copy.deepcopy(config)
    changed["feature_sparsity"]["synthetic"]["coder"]["iterations"] += 1
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(changed))
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--configfile", "changed.yaml").stdout
    assert "output: results/feature_sparsity/synthetic/main.json" in dry
    assert "feature_sparsity_layers" not in dry and "feature_sparsity_embeddings" not in dry


def test_bad_config_value_fails_naming_the_key(smoke_run):
    result = run(smoke_run, "snakemake", "--cores", "1", "-n", "--config", "device=gpu", check=False)
    assert result.returncode != 0
    assert "config key 'device'" in result.stderr + result.stdout
    assert "auto" in result.stderr + result.stdout


def test_dvc_repro_twice_second_is_a_no_op(smoke_run):
    run(smoke_run, "git", "init", "-q")
    run(smoke_run, "dvc", "init", "-q", "--force")
    shutil.copy2(Path(__file__).resolve().parents[1] / ".dvc/config", smoke_run / ".dvc/config")
    first = run(smoke_run, "dvc", "repro")
    assert "toy_sae" in first.stdout
    second = run(smoke_run, "dvc", "repro")
    assert "Running stage" not in second.stdout, second.stdout
    assert "up to date" in second.stdout.lower() or "didn't change" in second.stdout
    # DVC keeps Snakemake's view consistent (hard-linked cache): nothing to redo afterwards either.
    assert "Nothing to be done" in run(smoke_run, "snakemake", "--cores", "1", "-n").stdout
    # A config change runs the stage again; Snakemake replaces the (read-only, hard-linked) outputs it redoes.
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    config["toy_sae"]["evaluate"]["eval_seed"] += 1
    (smoke_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    third = run(smoke_run, "dvc", "repro")
    assert "Running stage 'toy_sae'" in third.stdout
    assert "rule toy_sae_evaluate:" in third.stderr and "rule toy_sae_train:" not in third.stderr
    assert "Running stage" not in run(smoke_run, "dvc", "repro").stdout
    assert "Nothing to be done" in run(smoke_run, "snakemake", "--cores", "1", "-n").stdout


def _training_processes(workdir: Path) -> list[int]:
    """PIDs of the toy_sae_train job script running in ``workdir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and str(workdir) in command and "toy_sae_train" in command:
            pids.append(int(entry.name))
    return pids


def _start_training(workdir: Path, target: str) -> subprocess.Popen:
    """Start Snakemake on ``target`` and return once the training job reports progress."""
    log = workdir / "logs/toy_sae/train.log"
    log.unlink(missing_ok=True)  # wait for this run's progress, not an earlier run's
    with open(workdir / "snakemake.out", "a", encoding="utf-8") as output:  # a file: a pipe could fill and block
        process = subprocess.Popen(["snakemake", "--cores", "2", target], cwd=workdir, env=_environment(),
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.is_file() and "sweep:" in log.read_text()):
        time.sleep(0.5)
    time.sleep(1)
    assert process.poll() is None, "training finished before it could be interrupted"
    return process


def test_interrupted_training_leaves_nothing_half_written_and_resumes(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    workdir = make_workdir(repo, tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["toy_sae"]["train"]["steps"] = 20000  # long enough (~10 s) to interrupt mid-training
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/toy_sae/sweep.safetensors"

    # 1. The training job is killed outright (as by the OOM killer): Snakemake reports the failure.
    process = _start_training(workdir, target)
    for pid in _training_processes(workdir):
        os.kill(pid, signal.SIGKILL)
    assert process.wait(timeout=60) != 0
    assert not (workdir / target).exists()

    # 2. The user presses Ctrl-C (SIGINT to the whole process group).
    process = _start_training(workdir, target)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    assert not (workdir / target).exists()
    assert list((workdir / "results").rglob("*.tmp")) == []

    # Rerunning the same command completes the work.
    run(workdir, "snakemake", "--cores", "2", target)
    assert (workdir / target).is_file()
