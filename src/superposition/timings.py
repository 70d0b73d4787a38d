"""Per-rule timings: Snakemake's ``benchmark:`` files of every job, collected into one table.

Every rule that runs a job writes a benchmark file (``logs/<stage>/benchmarks/<rule>[.<wildcard values>].tsv``,
set for all rules at once by ``benchmark_path``; see the Snakefile). Snakemake measures the job's wall time
and samples the memory of its process tree (every 0.5 s for the first 30 s, then every 30 s, so the peak of a
long job can be missed between samples). ``collect_timings`` reads the files of the rules the workflow has
now, ``write_timings`` writes ``results/timings.tsv``; the results site shows it per rule and per stage, and
``python -m superposition.timings total results/timings.tsv`` prints the total (``make reproduce``).

The table is the one output that differs between identical runs: it records durations, nothing derives from it
but the site.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from superposition.io import atomic_write_text

__all__ = ["JobTiming", "StageTiming", "benchmark_path", "read_benchmark", "collect_timings", "timings_tsv",
           "write_timings", "read_timings", "stage_timings", "total_wall_s", "format_duration", "summary_text"]

_WILDCARD = re.compile(r"\{(\w+)(?:,[^}]*)?\}")
_COLUMNS = ("stage", "rule", "job", "wall_s", "max_rss_mb", "cpu_s", "mean_load")


def benchmark_path(log: str, rule: str, wildcards: list[str]) -> str:
    """The benchmark file of a rule whose first log is ``log``: beside the stage's logs, named after the rule
    and its wildcards (``logs/tms/train_{part}.log`` -> ``logs/tms/benchmarks/tms_train.{part}.tsv``)."""
    folder = Path(log).parent / "benchmarks"
    suffix = "".join(f".{{{name}}}" for name in sorted(wildcards))
    return (folder / f"{rule}{suffix}.tsv").as_posix()


@dataclass(frozen=True)
class JobTiming:
    """One job's measurement: wall time, peak resident memory (MB; NaN if never sampled), CPU time (s)."""

    stage: str
    rule: str
    job: str  # wildcard values, "name=value,..." ("" for a rule without wildcards)
    wall_s: float
    max_rss_mb: float
    cpu_s: float
    mean_load: float


@dataclass(frozen=True)
class StageTiming:
    """A stage's jobs together: summed wall time and CPU time, the largest peak memory of any job."""

    stage: str
    jobs: int
    wall_s: float
    max_rss_mb: float
    cpu_s: float


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # "NA": the job ended before its memory was first sampled
        return math.nan


def read_benchmark(path: Path | str) -> dict[str, float]:
    """The measurement of a Snakemake benchmark file: wall_s, max_rss_mb, cpu_s, mean_load (the mean over
    repeats, if the rule repeats its benchmark)."""
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8")), delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: benchmark file without a measurement")

    def mean(key: str) -> float:
        values = [_number(row.get(key, "NA")) for row in rows]
        return sum(values) / len(values)

    return {"wall_s": mean("s"), "max_rss_mb": mean("max_rss"), "cpu_s": mean("cpu_time"),
            "mean_load": mean("mean_load")}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts, position = [], 0
    for match in _WILDCARD.finditer(pattern):
        parts.append(re.escape(pattern[position:match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+?)")
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts) + r"\Z")


def collect_timings(rules: dict[str, dict[str, str]], root: Path | str = ".") -> list[JobTiming]:
    """Every job's benchmark file under ``root`` for ``rules`` (rule name -> {"stage", "benchmark": pattern with
    wildcards}), sorted by stage, rule and job. Files of rules the workflow no longer has are ignored; a job
    without a file (it never ran since benchmarks were added) has no row."""
    root = Path(root)
    found = []
    for rule, entry in rules.items():
        pattern = entry["benchmark"]
        regex = _pattern_regex(pattern)
        folder = root / Path(pattern).parent
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = regex.match(path.relative_to(root).as_posix())
            if not match or not path.is_file():
                continue
            job = ",".join(f"{key}={value}" for key, value in sorted(match.groupdict().items()))
            found.append(JobTiming(entry["stage"], rule, job, **read_benchmark(path)))
    return sorted(found, key=lambda t: (t.stage, t.rule, t.job))


def _cell(value: float, digits: int) -> str:
    return "NA" if math.isnan(value) else f"{value:.{digits}f}"


def timings_tsv(jobs: list[JobTiming]) -> str:
    """The table: one row per job (stage, rule, job, wall_s, max_rss_mb, cpu_s, mean_load)."""
    lines = ["\t".join(_COLUMNS)]
    lines += ["\t".join((t.stage, t.rule, t.job, _cell(t.wall_s, 2), _cell(t.max_rss_mb, 1), _cell(t.cpu_s, 2),
                         _cell(t.mean_load, 1))) for t in jobs]
    return "\n".join(lines) + "\n"


def write_timings(rules: dict[str, dict[str, str]], output: Path | str, root: Path | str = ".") -> list[JobTiming]:
    """Collect the benchmark files of ``rules`` and write the table to ``output``; returns the rows."""
    jobs = collect_timings(rules, root)
    atomic_write_text(Path(output), timings_tsv(jobs))
    return jobs


def read_timings(path: Path | str) -> list[JobTiming]:
    """The rows of a timings table written by :func:`write_timings`."""
    rows = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8")), delimiter="\t")
    return [JobTiming(row["stage"], row["rule"], row["job"], _number(row["wall_s"]), _number(row["max_rss_mb"]),
                      _number(row["cpu_s"]), _number(row["mean_load"])) for row in rows]


def stage_timings(jobs: list[JobTiming]) -> list[StageTiming]:
    """Per stage, in order of first appearance: jobs, summed wall and CPU time, largest peak memory (NaN where
    no job's memory was sampled)."""
    stages: dict[str, list[JobTiming]] = {}
    for job in jobs:
        stages.setdefault(job.stage, []).append(job)
    summary = []
    for stage, members in stages.items():
        memory = [j.max_rss_mb for j in members if not math.isnan(j.max_rss_mb)]
        summary.append(StageTiming(stage, len(members), sum(j.wall_s for j in members),
                                   max(memory) if memory else math.nan,
                                   sum(j.cpu_s for j in members if not math.isnan(j.cpu_s))))
    return summary


def total_wall_s(jobs: list[JobTiming]) -> float:
    """The summed wall time of every job: the run's length on one job slot (jobs that ran side by side count
    each; the elapsed time of a parallel run is shorter)."""
    return sum(job.wall_s for job in jobs if not math.isnan(job.wall_s))


def format_duration(seconds: float) -> str:
    """``3725.4`` -> ``"1 h 02 min 05 s"``; ``42.25`` -> ``"42.2 s"``."""
    if math.isnan(seconds):
        return "n/a"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.timings total results/timings.tsv`: print the measured time per stage and in all."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("what", choices=["total"])
    parser.add_argument("table", nargs="?", default="results/timings.tsv")
    parser.add_argument("--elapsed", type=float, help="seconds the command that ran the workflow took")
    args = parser.parse_args(argv)
    print(summary_text(read_timings(args.table), args.table, args.elapsed))


def summary_text(jobs: list[JobTiming], table: str = "results/timings.tsv", elapsed: float | None = None) -> str:
    """The measured time per stage and in all, as `make reproduce` prints it."""
    lines = [f"Measured time per stage ({table}: the latest run of every job):"]
    for stage in stage_timings(jobs):
        lines.append(f"  {stage.stage:<18} {stage.jobs:>3} jobs  {format_duration(stage.wall_s):>16}  "
                     f"peak {_cell(stage.max_rss_mb, 0)} MB")
    lines.append(f"measured total: {format_duration(total_wall_s(jobs))} of job wall time over {len(jobs)} jobs")
    if elapsed is not None:
        lines.append(f"elapsed: {format_duration(elapsed)} for this command (jobs run side by side; jobs already "
                     "up to date are not rerun)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
