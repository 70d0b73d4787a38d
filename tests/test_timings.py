"""Per-rule timings: benchmark paths, reading Snakemake's benchmark files, the table and its summaries."""

from __future__ import annotations

import math

import pytest

from superposition.timings import (benchmark_path, collect_timings, format_duration, read_benchmark,
                                   read_timings, stage_timings, summary_text, total_wall_s, write_timings)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(path, *rows: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(row + "\n" for row in rows))


def test_benchmark_path_sits_beside_the_logs_named_by_rule_and_wildcards():
    assert benchmark_path("logs/tms/train_{part}.log", "tms_train", ["part"]) == \
        "logs/tms/benchmarks/tms_train.{part}.tsv"
    assert benchmark_path("logs/scorecard.log", "scorecard_merge", []) == "logs/benchmarks/scorecard_merge.tsv"
    assert benchmark_path("logs/x/a.log", "r", ["b", "a"]) == "logs/x/benchmarks/r.{a}.{b}.tsv"


def test_read_benchmark_averages_repeats_and_keeps_na_as_nan(tmp_path):
    _bench(tmp_path / "a.tsv", "2.0\t0:00:02\t100.5\t1\t1\t1\t0\t0\t50\t1.5",
           "4.0\t0:00:04\t200.5\t1\t1\t1\t0\t0\t70\t2.5")
    assert read_benchmark(tmp_path / "a.tsv") == {"wall_s": 3.0, "max_rss_mb": 150.5, "cpu_s": 2.0, "mean_load": 60.0}
    _bench(tmp_path / "b.tsv", "0.1\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA")
    measured = read_benchmark(tmp_path / "b.tsv")
    assert measured["wall_s"] == 0.1 and math.isnan(measured["max_rss_mb"])


def test_collect_matches_wildcards_ignores_other_files_and_sorts(tmp_path):
    _bench(tmp_path / "logs/tms/benchmarks/tms_train.phase.tsv", "5\t0\t10\t0\t0\t0\t0\t0\t90\t4")
    _bench(tmp_path / "logs/tms/benchmarks/tms_train.intro.tsv", "1\t0\t20\t0\t0\t0\t0\t0\t90\t1")
    _bench(tmp_path / "logs/tms/benchmarks/tms_claims.tsv", "0.5\t0\t30\t0\t0\t0\t0\t0\t90\t0.4")
    _bench(tmp_path / "logs/tms/benchmarks/removed_rule.tsv", "9\t0\t30\t0\t0\t0\t0\t0\t90\t9")
    rules = {"tms_train": {"stage": "tms", "benchmark": "logs/tms/benchmarks/tms_train.{part}.tsv"},
             "tms_claims": {"stage": "tms", "benchmark": "logs/tms/benchmarks/tms_claims.tsv"},
             "lm_corpus": {"stage": "lm", "benchmark": "logs/lm/benchmarks/lm_corpus.tsv"}}
    jobs = collect_timings(rules, tmp_path)
    assert [(j.rule, j.job, j.wall_s) for j in jobs] == [
        ("tms_claims", "", 0.5), ("tms_train", "part=intro", 1.0), ("tms_train", "part=phase", 5.0)]
    assert total_wall_s(jobs) == 6.5


def test_the_table_round_trips_and_sums_per_stage(tmp_path):
    _bench(tmp_path / "logs/a/benchmarks/a_x.tsv", "10\t0\t100\t0\t0\t0\t0\t0\t90\t8")
    _bench(tmp_path / "logs/a/benchmarks/a_y.tsv", "20\t0\t300\t0\t0\t0\t0\t0\t90\t16")
    _bench(tmp_path / "logs/b/benchmarks/b_z.tsv", "0.2\t0\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA")
    rules = {name: {"stage": name[0], "benchmark": f"logs/{name[0]}/benchmarks/{name}.tsv"}
             for name in ("a_x", "a_y", "b_z")}
    written = write_timings(rules, tmp_path / "timings.tsv", tmp_path)
    read = read_timings(tmp_path / "timings.tsv")
    assert [(j.rule, j.wall_s) for j in read] == [(j.rule, j.wall_s) for j in written]
    (a, b) = stage_timings(read)
    assert (a.stage, a.jobs, a.wall_s, a.max_rss_mb, a.cpu_s) == ("a", 2, 30.0, 300.0, 24.0)
    assert b.jobs == 1 and math.isnan(b.max_rss_mb)
    text = summary_text(read, elapsed=95)
    assert "measured total: 30.2 s of job wall time over 3 jobs" in text and "1 min 35 s" in text


@pytest.mark.parametrize("seconds, text", [(42.25, "42.2 s"), (61, "1 min 01 s"), (3725.4, "1 h 02 min 05 s"),
                                           (math.nan, "n/a")])
def test_format_duration_known_answers(seconds, text):
    assert format_duration(seconds) == text
