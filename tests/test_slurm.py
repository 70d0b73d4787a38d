"""The smoke DAG on a real SLURM cluster through the project's slurm profile (`make test-slurm`).

`make test-slurm` installs SLURM, starts a one-node cluster (tests/slurm/cluster.sh: slurmctld, slurmd,
slurmdbd on MariaDB, munge; fake GPU gres) and runs this file with SLURM_TEST=1; it stops the daemons after.
Elsewhere (`make test`) the SLURM tests skip, saying so. The profile-consistency test below needs no cluster.

Every job of the smoke DAG must run as a SLURM job, once, and sacct must show the allocation its rule requests,
as Snakemake resolves it for the same profile: CPUs = threads, memory = mem_mb, time limit = runtime, one GPU for
the rules that declare gpu=1, in the partition the profile names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from superposition.smoke import make_smoke_workdir

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROFILE = "workflow/profiles/slurm"


def _cluster_problem() -> str | None:
    """Why the SLURM cluster cannot be used, or None when its controller answers."""
    if shutil.which("scontrol") is None:
        return "no SLURM clients installed (`make test-slurm` installs them)"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=60)
    if ping.returncode != 0:
        return f"the SLURM controller does not answer: {ping.stdout}{ping.stderr}"
    return None


# `make test-slurm` sets SLURM_TEST=1 after starting the cluster; elsewhere these tests skip, saying why.
needs_cluster = pytest.mark.skipif(not os.environ.get("SLURM_TEST"),
                                   reason="needs the one-node SLURM cluster that `make test-slurm` starts (root, "
                                          "Debian packages); .ci/run runs it where the machine allows")


def _environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}


def run(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([*args], cwd=workdir, env=_environment(), capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _rule_blocks() -> dict[str, str]:
    """Every rule of workflow/rules/ and its text."""
    blocks = {}
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule )", path.read_text(encoding="utf-8")):
            name = re.match(r"rule (\w+):", block)
            if name:
                blocks[name.group(1)] = block
    return blocks


def _rules_declaring_gpu() -> set[str]:
    return {name for name, block in _rule_blocks().items()
            if re.search(r"(?m)^    resources:\n(?:        .*\n)*?        gpu=1,", block)}


def _job_rules() -> set[str]:
    """The rules that run something (a script): the ones submitted as SLURM jobs; target rules are not."""
    return {name for name, block in _rule_blocks().items() if "    script:" in block}


def test_the_profile_sends_exactly_the_gpu_rules_to_the_gpu_partition():
    profile = yaml.safe_load((REPO / PROFILE / "config.yaml").read_text())
    gpu_partition = {rule for rule, settings in profile["set-resources"].items()
                     if settings.get("slurm_partition") == "gpu"}
    assert gpu_partition == _rules_declaring_gpu() and len(gpu_partition) >= 5
    # Resources live in the rules, not in the profile: it only names partitions.
    assert all(set(settings) == {"slurm_partition"} for settings in profile["set-resources"].values())
    assert set(profile["default-resources"]) == {"slurm_partition"}


def test_every_rule_that_runs_a_script_declares_memory_and_runtime():
    blocks = _rule_blocks()

    def declares(name: str, resource: str) -> bool:
        return re.search(rf"(?m)^        {resource}=\d+,", blocks[name]) is not None

    missing = [name for name in sorted(_job_rules()) if not (declares(name, "mem_mb") and declares(name, "runtime"))]
    assert len(blocks) > 30 and missing == []


def planned_jobs(workdir: Path, slurm_args: list[str]) -> list[dict]:
    """Every job of the DAG with the threads and resources Snakemake resolves for the slurm profile."""
    text = run(workdir, "snakemake", "-n", "--forceall", *slurm_args).stdout
    jobs, job_rules = [], _job_rules()
    for block in re.split(r"\n(?=\[[^\n]+\]\n(?:local)?rule )", text):
        rule = re.search(r"^(local)?rule (\w+):", block, flags=re.MULTILINE)
        resources = re.search(r"^\s+resources: (.+)$", block, flags=re.MULTILINE)
        if not rule or rule.group(1) or rule.group(2) not in job_rules:
            continue  # target rules (no script) and local rules do not go to SLURM
        threads = re.search(r"^\s+threads: (\d+)$", block, flags=re.MULTILINE)
        wildcards = re.search(r"^\s+wildcards: (.+)$", block, flags=re.MULTILINE)
        values = dict(item.split("=", 1) for item in resources.group(1).split(", "))
        jobs.append({"rule": rule.group(2), "wildcards": wildcards.group(1) if wildcards else "",
                     "threads": int(threads.group(1)) if threads else 1, "mem_mb": int(values["mem_mb"]),
                     "runtime": int(values["runtime"]), "gpu": int(values.get("gpu", 0)),
                     "partition": values["slurm_partition"]})
    return jobs


def _minutes(limit: str) -> int:
    """sacct's Timelimit ([D-]HH:MM:SS) in minutes."""
    days, _, clock = limit.rpartition("-")
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return int(days or 0) * 1440 + hours * 60 + minutes + (seconds > 0)


def accounted_jobs(since: str, workdir: Path) -> list[dict]:
    """sacct's record of every job (allocation, not steps) run in ``workdir`` since ``since``."""
    fields = ["JobID", "Comment", "Partition", "AllocCPUS", "ReqMem", "Timelimit", "AllocTRES", "State", "WorkDir"]
    text = subprocess.run(["sacct", "-X", "-P", "-n", "--starttime", since, "-o", ",".join(fields)],
                          capture_output=True, text=True, check=True).stdout
    jobs = [dict(zip(fields, line.split("|"))) for line in text.splitlines() if line.strip()]
    return [job for job in jobs if Path(job["WorkDir"]).resolve() == workdir.resolve()]


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory) -> tuple[Path, list[str], str, float]:
    """The smoke DAG submitted through the slurm profile: (workdir, its arguments, start time, seconds)."""
    assert _cluster_problem() is None, _cluster_problem()
    workdir = make_smoke_workdir(REPO, tmp_path_factory.mktemp("slurm"))
    cpus = int(subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True, check=True)
               .stdout.split()[0])
    # The profile as it is, with the test node's size: its CPUs cap the rules that use every core (the profile's
    # max-threads is for real nodes), and status checks start after 2 s instead of 40 s.
    slurm_args = ["--workflow-profile", PROFILE, "--max-threads", str(cpus),
                  "--slurm-init-seconds-before-status-checks", "2"]
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    started = time.monotonic()
    run(workdir, "snakemake", *slurm_args, timeout=3600)
    return workdir, slurm_args, since, time.monotonic() - started


@needs_cluster
def test_every_job_ran_as_a_slurm_job_with_the_resources_its_rule_requests(slurm_run):
    workdir, slurm_args, since, seconds = slurm_run
    planned = planned_jobs(workdir, slurm_args)
    accounted = accounted_jobs(since, workdir)
    print(f"\nslurm: {len(accounted)} jobs of the smoke DAG in {seconds:.0f} s")
    assert len(planned) >= 40
    assert all(job["State"] == "COMPLETED" for job in accounted), accounted
    by_comment = {}
    for job in accounted:
        by_comment.setdefault(job["Comment"], []).append(job)
    for plan in planned:
        # The plugin's comment: rule_<rule>[_wildcards_<values joined by _>].
        values = "_".join(item.split("=", 1)[1] for item in plan["wildcards"].split(", ") if item)
        comment = f"rule_{plan['rule']}" + (f"_wildcards_{values.replace('/', '_')}" if values else "")
        records = by_comment.pop(comment, [])
        assert len(records) == 1, f"{comment}: {len(records)} SLURM jobs"
        record = records[0]
        assert int(record["AllocCPUS"]) == plan["threads"], (comment, record)
        assert record["ReqMem"] == f"{plan['mem_mb']}M", (comment, record)
        assert _minutes(record["Timelimit"]) == plan["runtime"], (comment, record)
        assert record["Partition"] == plan["partition"], (comment, record)
        gpus = re.search(r"gres/gpu=(\d+)", record["AllocTRES"])
        assert (int(gpus.group(1)) if gpus else 0) == plan["gpu"], (comment, record)
    assert by_comment == {}, f"SLURM jobs that no rule of the DAG explains: {by_comment}"
    # Rules of every kind took part: GPU and CPU partitions, one thread and several.
    assert {plan["partition"] for plan in planned} == {"cpu", "gpu"}
    assert {plan["threads"] > 1 for plan in planned} == {True, False}


@needs_cluster
def test_the_slurm_run_is_complete_and_a_local_rerun_has_nothing_to_do(slurm_run):
    workdir = slurm_run[0]
    assert (workdir / "results/scorecard.md").is_file()
    assert "Nothing to be done" in run(workdir, "snakemake", "--cores", "1", "-n").stdout
