"""End to end: the whole DAG on the smoke tier in a scratch copy of the repository, plus DVC and interruption.

Expected outputs come from the experiment manifest (workflow/experiments.yaml) and from the DAG itself (every
output and log of every job of a forced dry run). These tests run real Snakemake (and DVC) subprocesses with this
interpreter's environment.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from superposition.manifest import MANIFEST_FILE, load_manifest
from superposition.site import SNAKEMAKE_REPORT
from superposition.site_check import check_site, find_chromium
from superposition.smoke import make_smoke_workdir
from superposition.timings import read_timings
from tests.faults import comparable, invalid_outputs, kill_until_done, leftover_temporaries, output_digests

pytestmark = pytest.mark.workflow

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
MANIFEST = load_manifest(REPO / MANIFEST_FILE)
EXPERIMENTS = [experiment.name for experiment in MANIFEST.experiments]
OUTPUTS = ([path for stage in MANIFEST.stages for path in stage.smoke_outputs]
           + [path for e in MANIFEST.experiments for path in (e.claims, *e.report_files)]
           + ["results/scorecard.md", "results/scorecard.html", "results/timings.tsv", "results/index.html",
              "results/_static/mathjax/MathJax.js"])


def _environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}


def run(workdir: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command of the venv (snakemake, dvc, git) in ``workdir``."""
    result = subprocess.run([*args], cwd=workdir, env=_environment(), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    """The whole DAG, run once on the smoke tier (the same preparation as `make smoke`)."""
    workdir = make_smoke_workdir(REPO, tmp_path_factory.mktemp("smoke"))
    # Minutes on an idle 2-core machine; a shared, loaded one takes several times as long.
    run(workdir, "snakemake", "--cores", "2", timeout=1800)
    # Later tests change this run (config edits, DVC); the fault test compares with it as it was.
    (workdir / "clean-digests.json").write_text(json.dumps(output_digests(workdir)))
    return workdir


def dag_files(workdir: Path) -> tuple[list[str], list[str]]:
    """(outputs, logs) of every job of the complete DAG, as a forced dry run lists them."""
    text = run(workdir, "snakemake", "--cores", "1", "-n", "--forceall").stdout
    outputs, logs = [], []
    for key, value in re.findall(r"^\s+(output|log): (.+)$", text, flags=re.MULTILINE):
        (outputs if key == "output" else logs).extend(part.strip() for part in value.split(","))
    return outputs, logs


def _present(workdir: Path, path: str) -> bool:
    target = workdir / path
    return target.is_dir() and any(target.iterdir()) or target.is_file() and target.stat().st_size > 0


def test_every_output_and_log_of_the_dag_and_the_manifest_exists(smoke_run):
    outputs, logs = dag_files(smoke_run)
    assert len(outputs) > 40 and len(logs) > 20
    assert [p for p in sorted(set(outputs + logs + OUTPUTS)) if not _present(smoke_run, p)] == []
    summary = run(smoke_run, "snakemake", "--summary", "--cores", "1").stdout
    assert "missing" not in summary and "update pending" not in summary


def test_the_workflow_profile_is_in_effect(smoke_run):
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n")
    assert "Using workflow specific profile profiles/default" in dry.stdout + dry.stderr


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_experiment_writes_exactly_its_declared_figures(smoke_run, experiment):
    declared = set(MANIFEST.stage(experiment).figures)
    written = {path.stem for path in (smoke_run / f"results/{experiment}/figures").glob("*.png")}
    assert written == declared


def test_no_temporary_files_are_left_behind(smoke_run):
    assert [p for p in smoke_run.rglob("*.tmp")] == []


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_claims_json_follows_its_schema_and_reaches_the_scorecard(smoke_run, experiment):
    schema = yaml.safe_load((smoke_run / "workflow/schemas/claims.schema.yaml").read_text())
    claims = json.loads((smoke_run / f"results/{experiment}/claims.json").read_text())
    jsonschema.validate(claims, schema)
    primary = [claim for claim in claims["claims"] if not claim["secondary"]]
    assert claims["experiment"] == experiment and claims["n_claims"] == len(primary) >= 5
    assert claims["n_secondary"] == len(claims["claims"]) - len(primary)
    scorecard = (smoke_run / "results/scorecard.md").read_text()
    for claim in claims["claims"]:
        assert f"| {experiment} | {claim['id']} |" in scorecard


def test_metrics_cover_the_whole_grid(smoke_run):
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())["toy_sae"]["train"]
    metrics = json.loads((smoke_run / "results/toy_sae/metrics.json").read_text())
    grid = {(p["sparsity"], p["dict_ratio"]) for p in metrics["points"]}
    assert grid == {(a, float(r)) for a in config["sparsities"] for r in config["dict_ratios"]}
    assert metrics["summary"]["steps"] == config["steps"]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_report_shows_figures_and_every_claim(smoke_run, experiment):
    html = (smoke_run / f"results/{experiment}/report.html").read_text()
    assert html.count("data:image/png;base64") >= len(MANIFEST.stage(experiment).figures)
    claims = json.loads((smoke_run / f"results/{experiment}/claims.json").read_text())["claims"]
    assert all(claim["id"] in html for claim in claims) and "Interpretations" in html


def test_timings_cover_every_job_of_the_dag(smoke_run):
    dry = run(smoke_run, "snakemake", "--cores", "1", "-n", "--forceall").stdout
    benchmarks = re.findall(r"^\s+benchmark: (.+)$", dry, flags=re.MULTILINE)
    # The site's own jobs run after the table is written.
    expected = sorted(path for path in benchmarks if not path.startswith("logs/site/"))
    jobs = read_timings(smoke_run / "results/timings.tsv")
    assert len(jobs) == len(expected) > 40
    assert {job.stage for job in jobs} == {stage.name for stage in MANIFEST.stages} | {"scorecard", "common"}
    assert all(job.wall_s > 0 for job in jobs)
    assert sum(math.isfinite(job.max_rss_mb) for job in jobs) > len(jobs) // 2


def test_results_site_loads_offline_in_a_real_browser(smoke_run):
    """results/index.html and every page it links (reports, scorecard, Snakemake report) from file:// in
    Chromium: no console error, no request outside results/, every image decoded, every link resolves."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium on PATH: `make setup` installs Debian's chromium when run as root")
    run(smoke_run, "snakemake", "--report", f"results/{SNAKEMAKE_REPORT}")
    screenshot = smoke_run / "results/index.png"
    check = check_site(smoke_run / "results/index.html", screenshot, chromium)
    print(f"\nresults site: {check.summary()}")
    assert check.ok, check.summary()
    expected = {"index.html", "scorecard.html", SNAKEMAKE_REPORT, *(f"{e}/report.html" for e in EXPERIMENTS)}
    assert expected <= set(check.pages)
    assert check.images_checked >= sum(len(stage.figures) for stage in MANIFEST.experiments)
    assert screenshot.stat().st_size > 20_000


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


@pytest.fixture(scope="module")
def dvc_repo(smoke_run) -> tuple[Path, subprocess.CompletedProcess]:
    """The smoke run as a git repository with DVC, every stage locked by a first `dvc repro`."""
    run(smoke_run, "git", "init", "-q")
    run(smoke_run, "dvc", "init", "-q", "--force")
    (smoke_run / ".dvc/config").write_text((REPO / ".dvc/config").read_text())
    return smoke_run, run(smoke_run, "dvc", "repro")


def test_dvc_repro_twice_second_is_a_no_op(dvc_repo):
    smoke_run, first = dvc_repo
    assert "toy_sae" in first.stdout
    # Adopting a complete Snakemake run, DVC runs every stage and Snakemake redoes no job (.dvcignore keeps DVC
    # from re-creating the directories' .snakemake_timestamp, which would make them look new to later stages).
    assert re.findall(r"^(?:local)?rule (\w+):", first.stderr, re.M) == [], first.stderr[-3000:]
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
    # lm_sae reads the toy metrics: its stage runs, and Snakemake, seeing the new input (DVC's fresh copies of
    # the cached outputs got their times back), redoes exactly the jobs that read it.
    assert "Running stage 'lm_sae'" in third.stdout
    assert "rule lm_sae_claims:" in third.stderr and "rule lm_sae_train:" not in third.stderr
    assert "Running stage" not in run(smoke_run, "dvc", "repro").stdout
    assert "Nothing to be done" in run(smoke_run, "snakemake", "--cores", "1", "-n").stdout


def test_dvc_push_then_pull_into_a_fresh_clone_recomputes_nothing(dvc_repo, tmp_path):
    """Sharing results: every cached output goes to a remote (here a local folder); a fresh clone pulls them and
    neither `dvc repro` nor Snakemake has anything left to compute (README: "Sharing results with DVC")."""
    workdir = dvc_repo[0]
    assert "Running stage" not in run(workdir, "dvc", "repro").stdout  # locked and up to date
    remote = tmp_path / "remote"
    run(workdir, "dvc", "remote", "add", "--default", "--force", "shared", str(remote))
    (workdir / ".gitignore").write_text("/.snakemake/\n/logs/\n")
    run(workdir, "git", "add", "--all")
    run(workdir, "git", "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "smoke")
    run(workdir, "dvc", "push")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(workdir), str(clone))
    assert not (clone / "results/toy_sae/metrics.json").exists()  # outputs travel through DVC, not git
    run(clone, "dvc", "pull")
    missing = [path for path in OUTPUTS if not _present(clone, path)]
    assert missing == [], f"not restored by dvc pull: {missing}"
    assert (clone / "results/scorecard.md").read_bytes() == (workdir / "results/scorecard.md").read_bytes()
    run(clone, "snakemake", "--touch", "--cores", "1")  # DVC does not keep file times (README)
    assert "Nothing to be done" in run(clone, "snakemake", "--cores", "1", "-n").stdout
    repro = run(clone, "dvc", "repro")
    assert "Running stage" not in repro.stdout, repro.stdout
    assert "up to date" in run(clone, "dvc", "status").stdout.lower()


def _job_processes(workdir: Path, rule: str) -> list[int]:
    """PIDs of the script of ``rule``'s job running in ``workdir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and str(workdir) in command and rule in command and "snakemake " not in command:
            pids.append(int(entry.name))
    return pids


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C's default action. A test run launched from a background shell (`cmd &`)
    inherits SIGINT ignored, and Python then keeps ignoring it, so Snakemake would never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_job(workdir: Path, target: str, rule: str) -> subprocess.Popen:
    """Start Snakemake on ``target`` and return as soon as ``rule``'s job process runs."""
    with open(workdir / "snakemake.out", "a", encoding="utf-8") as output:  # a file: a pipe could fill and block
        process = subprocess.Popen(["snakemake", "--cores", "2", target], cwd=workdir, env=_environment(),
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _job_processes(workdir, rule):
        assert process.poll() is None, "Snakemake ended before the job started"
        time.sleep(0.05)
    assert _job_processes(workdir, rule), f"{rule} did not start"
    return process


def test_interrupted_job_leaves_nothing_half_written_and_the_same_command_resumes(tmp_path):
    workdir = make_smoke_workdir(REPO, tmp_path)
    target, rule = "results/toy_sae/sweep.safetensors", "toy_sae_train"
    # The smoke tier trains in a tenth of a second, shorter than a Ctrl-C takes to land: seconds here.
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["toy_sae"]["train"]["steps"] = 15_000  # ~7 s on 2 cores
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    # 1. The job is killed outright (as by the OOM killer): Snakemake reports the failure.
    process = _start_job(workdir, target, rule)
    for pid in _job_processes(workdir, rule):
        os.kill(pid, signal.SIGKILL)
    assert process.wait(timeout=60) != 0
    assert not (workdir / target).exists()

    # 2. The user presses Ctrl-C (SIGINT to the whole process group) once the job is training.
    log = workdir / "logs/toy_sae/train.log"
    log.unlink(missing_ok=True)  # step 1's log must not count as this job's progress
    process = _start_job(workdir, target, rule)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "sweep:" not in (log.read_text() if log.is_file() else ""):
        time.sleep(0.05)
    assert process.poll() is None, "the job finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    assert not (workdir / target).exists()
    assert list((workdir / "results").rglob("*.tmp")) == []

    # Rerunning the same command completes the work.
    run(workdir, "snakemake", "--cores", "2", target)
    assert (workdir / target).is_file()


def test_a_run_killed_at_random_moments_recovers_with_the_same_command(smoke_run, tmp_path):
    """kill -9 (the whole process group) during training, during report rendering, then at random moments; the
    same command finishes the work, every output parses, nothing temporary is left, and every output that must
    be reproducible equals the clean run's byte for byte. `make test-faults` runs the whole DAG, 20 kills."""
    kills = int(os.environ.get("FAULT_KILLS", "3"))
    target = os.environ.get("FAULT_TARGET", "results/tms/report.html")  # downstream of both aimed jobs
    workdir = make_smoke_workdir(REPO, tmp_path)
    command = ["snakemake", "--cores", "2", *([] if target == "all" else [target])]
    # make test's three kills are all aimed (a random one could land after the short target finished).
    aimed = ("toy_sae_train", "render_report") if target == "all" else ("tms_train", "tms_analyze", "render_report")
    report = kill_until_done(workdir, command, _environment(), kills, int(os.environ.get("FAULT_SEED", "0")),
                             aimed=aimed)
    print(f"\nfault injection: {report.summary()}")
    assert report.kills == kills
    assert "Nothing to be done" in run(workdir, *command, "-n").stdout
    assert invalid_outputs(workdir) == []
    assert leftover_temporaries(workdir) == []
    ours, clean = output_digests(workdir), json.loads((smoke_run / "clean-digests.json").read_text())
    if target == "all":
        assert sorted(ours) == sorted(clean)
    differing = sorted(path for path in ours if comparable(path) and ours[path] != clean.get(path))
    assert differing == [], "outputs differ from the clean run"
    print(f"fault injection: 0 corrupt outputs, 0 leftover temporaries, {sum(map(comparable, ours))} outputs "
          "byte-identical to the clean run")
