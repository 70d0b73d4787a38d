"""Benchmark: how long "nothing to do" takes, on a complete DAG.

Run by hand (`python benchmarks/bench_noop.py [WORKDIR]`); numbers go in benchmarks/README.md. WORKDIR is a
workflow folder whose DAG is complete (default `.smoke`, made by `make smoke`; the repository root after a
default run). The script times, in one run, best of three each:
  parse     `snakemake --list-rules` (parsing the Snakefile and the rules, no DAG);
  dry run   `snakemake -n` on the whole DAG (parsing, DAG building, checking every output's timestamp and
            provenance): the target of issue 18 is at most 10 s.
It fails if the dry run finds anything to do (the DAG must be complete for the number to mean "no-op").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def best_of(command: list[str], workdir: Path, repeats: int = 3) -> tuple[float, str]:
    """(fastest wall time in seconds, stdout of the last run) of ``command`` in ``workdir``."""
    times, output = [], ""
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        output = done.stdout
    return min(times), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", default=".smoke", type=Path)
    args = parser.parse_args()
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    parse, _ = best_of([snakemake, "--list-rules"], args.workdir)
    dry, output = best_of([snakemake, "-n", "--cores", "1"], args.workdir)
    if "Nothing to be done" not in output:
        raise SystemExit(f"the DAG in {args.workdir} is not complete: run it first\n{output[-2000:]}")
    print(f"parse only (snakemake --list-rules): {parse:.2f} s")
    print(f"no-op dry run (snakemake -n):        {dry:.2f} s (target ≤ 10 s)")


if __name__ == "__main__":
    main()
