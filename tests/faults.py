"""Fault injection for the end-to-end tests: kill a Snakemake run outright at random moments, rerun the same command,
and check what it leaves behind.

A kill takes the whole process group (Snakemake and its jobs), as the OOM killer, a lost session or a power cut
would. The moments are seeded: a failing run can be replayed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Outputs that legitimately differ between two runs of the same inputs, and why:
LEGITIMATELY_DIFFERENT = {
    "logs/": "timestamps and durations",
    ".ipynb": "executed notebooks record execution times (papermill metadata)",
    "report.html": "rendered from the executed notebook",
    "results/timings.tsv": "wall times and memory of the jobs",
    "results/index.html": "shows the timings and the checkout's commit",
}
# What a run reads from its folder rather than writes.
INPUTS = ("data/tiny_bert/", "data/smoke_corpus.txt", "data/external/")


@dataclass
class KillReport:
    """What the fault injection did: kills, the job scripts each kill hit, and the runs needed to finish."""

    kills: int = 0
    runs: int = 0
    scripts_hit: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        hit = ", ".join(f"{name} ×{count}" for name, count in sorted(self.scripts_hit.items())) or "none"
        return f"{self.kills} kill(s) over {self.runs} run(s); job scripts killed mid-run: {hit}"


def running_job_scripts(workdir: Path) -> list[str]:
    """Names of the job scripts running in ``workdir`` (Snakemake copies each to .snakemake/scripts/tmpXXXX.<name>)."""
    scripts = []
    marker = f"{workdir}/.snakemake/scripts/"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        for word in command.split():
            if word.startswith(marker):
                scripts.append(word.rsplit("/", 1)[1].split(".", 1)[1].removesuffix(".py"))
    return scripts


def kill_until_done(workdir: Path, command: list[str], environment: dict[str, str], kills: int, seed: int,
                    aimed: tuple[str, ...] = (), max_delay: float = 12.0, timeout: float = 1800.0) -> KillReport:
    """Run ``command`` in ``workdir``; ``kills`` times, SIGKILL the whole group and start the same command again,
    then let it finish. The first kills are aimed: each waits until the job script named in ``aimed`` runs; the
    others come a random delay after the first job starts. Raises if the last run fails."""
    rng = random.Random(seed)
    report = KillReport()
    deadline = time.monotonic() + timeout
    with open(workdir / "faults.out", "a", encoding="utf-8") as output:
        while True:
            report.runs += 1
            process = subprocess.Popen(command, cwd=workdir, env=environment, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            if report.kills < kills:
                aim = aimed[report.kills] if report.kills < len(aimed) else None
                while process.poll() is None and time.monotonic() < deadline:
                    running = running_job_scripts(workdir)
                    if (aim is None and running) or aim in running:
                        break
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.2, 1.0) if aim else rng.uniform(0.0, max_delay))
                if process.poll() is None:
                    report.scripts_hit.update(running_job_scripts(workdir))
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    report.kills += 1
                    continue
            try:
                returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"run {report.runs} did not finish within {timeout:.0f} s; see "
                                     f"{workdir / 'faults.out'}") from None
            if returncode != 0:
                raise AssertionError(f"run {report.runs} after {report.kills} kill(s) failed; see "
                                     f"{workdir / 'faults.out'}")
            if report.kills >= kills:
                return report
            # The run finished before the next kill: rerunning a complete DAG would never give one.
            raise AssertionError(f"the run finished after {report.kills} of {kills} kill(s): the aimed job "
                                 f"{aim!r} is not upstream of the target, or the DAG is too short for the kills")


def output_digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file the workflow wrote under results/ and data/ (not its inputs)."""
    digests = {}
    for root in ("results", "data"):
        for path in sorted((workdir / root).rglob("*")):
            relative = path.relative_to(workdir).as_posix()
            if path.is_file() and not relative.startswith(INPUTS):
                digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def comparable(path: str) -> bool:
    """Whether two runs must give this output byte for byte."""
    return not any(path.startswith(key) or path.endswith(key) for key in LEGITIMATELY_DIFFERENT)


def invalid_outputs(workdir: Path) -> list[str]:
    """Outputs that do not parse as what their name says (JSON, safetensors, PNG, notebook, CSV)."""
    import matplotlib.image
    import nbformat
    import pandas as pd
    from safetensors import safe_open

    readers = {".json": lambda p: json.loads(p.read_text(encoding="utf-8")),
               ".safetensors": lambda p: safe_open(str(p), framework="pt").keys(),
               ".png": matplotlib.image.imread, ".ipynb": lambda p: nbformat.read(p, as_version=4),
               ".csv": pd.read_csv}
    bad = []
    for relative in output_digests(workdir):
        reader = readers.get(Path(relative).suffix)
        if reader is None:
            continue
        try:
            reader(workdir / relative)
        except Exception as error:  # any failure to parse is a corrupt output
            bad.append(f"{relative}: {type(error).__name__}: {error}")
    return bad


def leftover_temporaries(workdir: Path) -> list[str]:
    """Atomic-write temporaries left anywhere under results/ or data/."""
    return sorted(p.relative_to(workdir).as_posix() for root in ("results", "data")
                  for p in (workdir / root).rglob("*.tmp"))
