"""Recovery after a killed run: stale locks and temporaries go, a live run's stay."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from superposition.io import _HOST
from superposition.recovery import recover_interrupted_run


def _dead_pid() -> str:
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _leftovers(workdir: Path) -> tuple[Path, Path]:
    """A Snakemake lock and an atomic-write temporary, as a run killed outright leaves them."""
    lock = workdir / ".snakemake" / "locks" / "0.input.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("results/x\n")
    temporary = workdir / "results" / "exp" / f".claims.json.{_HOST}-{_dead_pid()}.abcd1234.tmp"
    temporary.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text("{")
    return lock, temporary


def _recover_in_subprocess(workdir: Path, hold: bool) -> subprocess.Popen:
    code = f"""
        import time
        from superposition.recovery import recover_interrupted_run
        print(recover_interrupted_run({str(workdir)!r}).alive, flush=True)
        time.sleep(60 if {hold} else 0)
        """
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)


def test_a_live_runs_state_is_left_alone_and_a_dead_runs_is_cleared(tmp_path):
    live_run = _recover_in_subprocess(tmp_path, hold=True)
    try:
        assert live_run.stdout.readline().strip() == "False"  # it took the run lock
        lock, temporary = _leftovers(tmp_path)  # written "by" the live run
        second = _recover_in_subprocess(tmp_path, hold=False)
        assert second.stdout.readline().strip() == "True" and second.wait() == 0
        assert lock.exists() and temporary.exists()
    finally:
        live_run.kill()  # as kill -9 would: the kernel releases its flock
        live_run.wait()
    report = recover_interrupted_run(tmp_path)
    assert not report.alive and report.stale_locks == [lock] and report.stale_temporaries == [temporary]
    assert not lock.exists() and not temporary.exists()
