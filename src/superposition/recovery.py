"""Recovery after a killed run: the same command finishes the work, with no manual step.

Snakemake leaves two things behind when it is killed outright (kill -9, OOM killer, power loss): its lock files,
which make the next run stop with a LockException until ``snakemake --unlock``, and the temporaries of jobs that
were writing (:func:`superposition.io.atomic_path`). Incomplete outputs it already handles: the workflow profile
sets ``rerun-incomplete``. :func:`recover_interrupted_run`, called when the Snakefile is parsed, clears the rest,
but only when no other run of this workflow is alive: each run holds an exclusive ``flock`` on
``.snakemake/superposition-run.lock`` for as long as its process lives, and the kernel releases it when the
process dies, however it dies. A live run's locks are never touched.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from superposition.io import sweep_stale_temporaries

__all__ = ["RecoveryReport", "recover_interrupted_run", "RUN_LOCK"]

log = logging.getLogger(__name__)

RUN_LOCK = ".snakemake/superposition-run.lock"
_held: list[IO[str]] = []  # the open run-lock file of this process; closing it would release the lock


@dataclass
class RecoveryReport:
    """What a recovery found. ``alive`` is True when another run holds the run lock (nothing was touched)."""

    alive: bool = False
    stale_locks: list[Path] = field(default_factory=list)
    stale_temporaries: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        if self.alive:
            return "another run of this workflow is alive: its locks are left alone"
        return (f"cleared {len(self.stale_locks)} stale Snakemake lock(s) and {len(self.stale_temporaries)} "
                "temporary file(s) left by a killed run")


def _take_run_lock(workdir: Path) -> bool:
    """Hold the run lock for the rest of this process's life; False if another live process holds it."""
    if _held:
        return True
    path = workdir / RUN_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")  # for people looking; the lock itself is the flock
    handle.flush()
    _held.append(handle)
    return True


def recover_interrupted_run(workdir: Path | str = ".", output_roots: tuple[str, ...] = ("results", "data")
                            ) -> RecoveryReport:
    """If no other run is alive, delete Snakemake's stale locks and the stale temporaries under ``output_roots``."""
    workdir = Path(workdir)
    if not _take_run_lock(workdir):
        return RecoveryReport(alive=True)
    report = RecoveryReport()
    lock_dir = workdir / ".snakemake" / "locks"
    if lock_dir.is_dir():
        for lock in sorted(lock_dir.glob("*.lock")):
            lock.unlink(missing_ok=True)
            report.stale_locks.append(lock)
    report.stale_temporaries = sweep_stale_temporaries(workdir / root for root in output_roots)
    return report
