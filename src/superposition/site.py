"""The results site: ``results/index.html``, the page a user opens first.

It links everything a run produced: the scorecard (every claim with its verdict, diagnosis and a link to the
figure it concerns), one card per experiment of the manifest (key figures as thumbnails, its rendered report,
its claims), the per-rule timings beside the expected cost of this tier and of the paper tier, and the
provenance (commit, config hash, package versions). The page is static HTML with inline CSS and relative links
only, so it opens offline from a ``file://`` URL; the reports it links load MathJax from ``results/_static``.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from superposition.claims import outcome, read_claims
from superposition.cost import Cost, stage_costs
from superposition.io import atomic_write_text
from superposition.manifest import Experiment, Manifest, load_manifest
from superposition.provenance import run_provenance
from superposition.scorecard import OUTCOMES
from superposition.timings import (JobTiming, StageTiming, format_duration, read_timings, stage_timings,
                                   total_wall_s)

__all__ = ["SNAKEMAKE_REPORT", "SiteInputs", "claim_figure", "merged", "site_html", "write_site",
           "write_site_from_files"]

# The Snakemake report, beside the page (`snakemake --report results/snakemake_report.html`; make reproduce).
SNAKEMAKE_REPORT = "snakemake_report.html"
_FIGURE_REF = re.compile(r"\b(?:Figures?|Figs?\.?)\s*((?:\d+[a-z]?)(?:\s*(?:[-–,]|and)\s*\d+[a-z]?)*)", re.IGNORECASE)
_OUTCOME_LABELS = {"passed": "passed", "non_replication": "failed: non-replication",
                   "scale_limited": "failed: scale of this tier", "open": "open", "untestable": "untestable"}
_COLOURS = {"passed": "#d8f0d8", "non_replication": "#f6d5d5", "scale_limited": "#fbe8cc", "open": "#f0e0f6",
            "untestable": "#eeeeee"}


def _figure_numbers(text: str) -> list[str]:
    """Figure numbers a text cites: "Figure 3", "Figs 5-8" (each of 5..8), "Figures 1a and 2"."""
    numbers: list[str] = []
    for match in _FIGURE_REF.finditer(text):
        for part in re.split(r"\s*(?:,|and)\s*", match.group(1)):
            ends = re.split(r"\s*[-–]\s*", part)
            if len(ends) == 2 and ends[0].isdigit() and ends[1].isdigit():
                numbers += [str(n) for n in range(int(ends[0]), int(ends[1]) + 1)]
            else:
                numbers += [end for end in ends if end]
    return numbers


def claim_figure(source: str, figures: dict[str, str]) -> str | None:
    """The experiment's figure a claim concerns: the first manifest figure (name -> caption) whose caption
    starts by citing a figure the claim's ``source`` cites ("Figure 3" matches "Figure 3: ..."; "Fig 1" matches
    "Figure 1a: ..."); None if no caption cites one."""
    cited = _figure_numbers(source)
    for number in cited:
        for name, caption in figures.items():
            head = caption.split(":", 1)[0]
            own = _figure_numbers(head)
            if number in own or any(n.rstrip("abcdefgh") == number for n in own):
                return name
    return None


@dataclass(frozen=True)
class SiteInputs:
    """Everything the page shows, read from the run's outputs."""

    manifest: Manifest
    claims: dict[str, dict[str, Any]]  # experiment -> claims.json payload
    jobs: list[JobTiming]
    costs: dict[str, tuple[Cost, Cost]]  # stage -> (this tier, paper tier)
    provenance: dict[str, Any]
    tier: str  # which config the run used, in words


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _mb(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} MB"


def _outcome_badges(counts: dict[str, int]) -> str:
    return " ".join(f"<span class='badge' style='background:{_COLOURS[key]}'>{_e(_OUTCOME_LABELS[key])}: "
                    f"{counts[key]}</span>" for key in OUTCOMES if counts.get(key))


def _cost_cells(costs: tuple[Cost, Cost] | None) -> str:
    if costs is None:
        return "<td>n/a</td><td>n/a</td><td>n/a</td>"
    here, paper = costs
    return (f"<td title='{_e(here.what)}'>{here.flops:.2e}</td><td title='{_e(paper.what)}'>{paper.flops:.2e}</td>"
            f"<td>{paper.gpu_hours:.2g}</td>")


def _experiment_card(experiment: Experiment, inputs: SiteInputs, stages: dict[str, StageTiming]) -> str:
    name = experiment.name
    payload = inputs.claims.get(name)
    counts = _counts(inputs).get(name, dict.fromkeys(OUTCOMES, 0))
    thumbs = "".join(
        f"<a href='{_e(name)}/figures/{_e(figure)}.png' title='{_e(caption)}'>"
        f"<img class='thumb' src='{_e(name)}/figures/{_e(figure)}.png' alt='{_e(figure)}'></a>"
        for figure, caption in experiment.figures.items())
    timing = stages.get(name)
    timing_text = (f"{format_duration(timing.wall_s)} in {timing.jobs} jobs, peak {_mb(timing.max_rss_mb)}"
                   if timing else "not measured")
    cost = inputs.costs.get(name)
    cost_text = (f"; expected cost: {cost[0].flops:.2g} FLOP here, {cost[1].flops:.2g} FLOP at the paper tier "
                 f"(~{cost[1].gpu_hours:.2g} GPU h)" if cost else "")
    return (f"<section class='card' id='exp-{_e(name)}'><h3>{_e(name)}</h3>"
            f"<p class='paper'>{_e(experiment.paper)}: {_e(experiment.title)}</p>"
            f"<p>{_outcome_badges(counts) if payload else 'no claims yet'}</p>"
            f"<p><a href='{_e(name)}/report.html'>report</a> · <a href='{_e(name)}/claims.json'>claims.json</a>"
            f" · <a href='{_e(name)}/{_e(name)}.ipynb'>executed notebook</a></p>"
            f"<div class='thumbs'>{thumbs}</div>"
            f"<p class='small'>Measured: {_e(timing_text)}{_e(cost_text)}</p></section>")


def _scorecard_section(inputs: SiteInputs) -> str:
    rows = {False: [], True: []}
    for experiment in inputs.manifest.experiments:
        payload = inputs.claims.get(experiment.name)
        if payload is None:
            continue
        for claim in payload["claims"]:
            figure = claim_figure(claim["source"], experiment.figures)
            target = (f"{experiment.name}/figures/{figure}.png" if figure else f"{experiment.name}/report.html")
            label = figure or "report"
            diagnosis = claim.get("evidence") if claim["passed"] is False else claim.get("note", "")
            rows[bool(claim["secondary"])].append(
                f"<tr style='background:{_COLOURS[outcome(claim)]}'><td>{_e(experiment.name)}</td>"
                f"<td title='{_e(claim['statement'])}'>{_e(claim['id'])}</td><td>{_e(claim['source'])}</td>"
                f"<td>{_e(claim['paper_value'])}</td><td>{_e(claim['measured_summary'])}</td>"
                f"<td>{_e(_verdict(claim))}</td><td class='small'>{_e(diagnosis or '')}</td>"
                f"<td><a href='{_e(target)}'>{_e(label)}</a></td></tr>")
    header = ("<tr><th>experiment</th><th>claim</th><th>source</th><th>paper</th><th>ours</th><th>verdict</th>"
              "<th>diagnosis / note</th><th>figure</th></tr>")
    counts = _counts(inputs)
    totals = "".join(f"<tr><td>{_e(name)}</td>" + "".join(f"<td>{values[key]}</td>" for key in OUTCOMES) + "</tr>"
                     for name, values in counts.items())
    total_header = "<tr><th>experiment</th>" + "".join(f"<th>{_e(_OUTCOME_LABELS[k])}</th>" for k in OUTCOMES) + "</tr>"
    secondary = ""
    if rows[True]:
        secondary = ("<h3>Secondary claims</h3><p>Other papers' statements tested on an experiment's data; not "
                     f"counted in the totals.</p><table>{header}{''.join(rows[True])}</table>")
    return (f"<section id='scorecard'><h2>Scorecard</h2><table>{total_header}{totals}</table>"
            f"<p>Also as <a href='scorecard.md'>scorecard.md</a> and <a href='scorecard.html'>scorecard.html</a>."
            f"</p><table>{header}{''.join(rows[False])}</table>{secondary}</section>")


def _verdict(claim: dict[str, Any]) -> str:
    # Words, not the reports' emoji: a browser without an emoji font would show empty boxes.
    key = outcome(claim)
    return {"passed": "pass", "untestable": "untestable"}.get(key, f"FAIL ({_OUTCOME_LABELS[key]})")


def _counts(inputs: SiteInputs) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for experiment in inputs.manifest.experiments:
        payload = inputs.claims.get(experiment.name)
        for claim in (payload or {"claims": []})["claims"]:
            if claim["secondary"]:
                continue
            for key in (experiment.name, "all"):
                counts.setdefault(key, dict.fromkeys(OUTCOMES, 0))[outcome(claim)] += 1
    if "all" in counts:
        counts["all"] = counts.pop("all")
    return counts


def _timings_section(inputs: SiteInputs, stages: list[StageTiming]) -> str:
    stage_rows = "".join(
        f"<tr><td>{_e(s.stage)}</td><td>{s.jobs}</td><td>{_e(format_duration(s.wall_s))}</td>"
        f"<td>{_e(_mb(s.max_rss_mb))}</td><td>{_e(format_duration(s.cpu_s))}</td>"
        f"{_cost_cells(inputs.costs.get(s.stage))}"
        "</tr>" for s in stages)
    job_rows = "".join(
        f"<tr><td>{_e(j.stage)}</td><td>{_e(j.rule)}</td><td>{_e(j.job)}</td><td>{_e(format_duration(j.wall_s))}</td>"
        f"<td>{_e(_mb(j.max_rss_mb))}</td><td>{_e(format_duration(j.cpu_s))}</td></tr>" for j in inputs.jobs)
    total = total_wall_s(inputs.jobs)
    return (
        "<section id='timings'><h2>Timings and expected cost</h2>"
        f"<p>Measured on {_e(inputs.tier)}: {_e(format_duration(total))} of job time over "
        f"{len(inputs.jobs)} jobs (jobs that ran side by side each count in full). Peak memory is Snakemake's "
        "sample of the job's process tree (every 0.5 s for 30 s, then every 30 s). FLOPs count the dominant "
        "matrix products of each stage (hover for what is counted); the paper tier is this run's config with "
        "<code>configs/paper.yaml</code> merged in; GPU hours assume the sustained throughput stated in "
        "<code>superposition.cost</code>. Table: <a href='timings.tsv'>timings.tsv</a>.</p>"
        "<table><tr><th>stage</th><th>jobs</th><th>wall time</th><th>peak memory</th><th>CPU time</th>"
        "<th>FLOP, this tier</th><th>FLOP, paper tier</th><th>GPU hours, paper tier</th></tr>"
        f"{stage_rows}</table><details><summary>every job</summary><table><tr><th>stage</th><th>rule</th>"
        "<th>job</th><th>wall time</th><th>peak memory</th><th>CPU time</th></tr>"
        f"{job_rows}</table></details></section>")


def _provenance_section(provenance: dict[str, Any]) -> str:
    commit = provenance.get("commit") or "not a git checkout"
    dirty = " (with uncommitted changes)" if provenance.get("dirty") else ""
    packages = "".join(f"<tr><td>{_e(name)}</td><td>{_e(version)}</td></tr>"
                       for name, version in provenance.get("packages", {}).items())
    return (f"<section id='provenance'><h2>Provenance</h2><ul><li>commit: <code>{_e(commit)}</code>{_e(dirty)}</li>"
            f"<li>config hash: <code>{_e(provenance.get('config_hash'))}</code> (SHA-256 of the merged config as "
            "canonical JSON)</li>"
            f"<li>Python {_e(provenance.get('python'))} on {_e(provenance.get('platform'))}</li></ul>"
            f"<table><tr><th>package</th><th>version</th></tr>{packages}</table></section>")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1em;
color:#222}
h1{margin-bottom:.2em} nav a{margin-right:1em} table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top} th{background:#f2f2f2}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:1em}
.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em} .card h3{margin:.2em 0}
.paper{font-style:italic;margin:.2em 0} .badge{border-radius:4px;padding:1px 6px;font-size:.8em;
display:inline-block;margin:1px} .thumbs{display:flex;flex-wrap:wrap;gap:4px}
.thumb{width:104px;height:78px;object-fit:contain;border:1px solid #ddd;background:#fff}
.small{font-size:.8em;color:#444} code{background:#f4f4f4;padding:0 3px}
"""


def site_html(inputs: SiteInputs) -> str:
    """The landing page as one HTML document (inline CSS, relative links, no scripts)."""
    stages = stage_timings(inputs.jobs)
    by_stage = {s.stage: s for s in stages}
    counts = _counts(inputs).get("all", dict.fromkeys(OUTCOMES, 0))
    headline = (f"{counts['passed']} of {sum(counts.values())} claims pass; failed by non-replication "
                f"{counts['non_replication']}, at the scale of this tier {counts['scale_limited']}, open "
                f"{counts['open']}; untestable {counts['untestable']}.")
    cards = "".join(_experiment_card(e, inputs, by_stage) for e in inputs.manifest.experiments)
    reports = " · ".join(f"<a href='{_e(e.name)}/report.html'>{_e(e.name)}</a>" for e in inputs.manifest.experiments)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Superposition Replications: results</title><style>{_CSS}</style></head><body>"
        "<h1>Superposition Replications: results</h1>"
        f"<p>{_e(headline)} Config: {_e(inputs.tier)}.</p>"
        "<nav><a href='#experiments'>experiments</a><a href='#scorecard'>scorecard</a>"
        "<a href='#timings'>timings</a><a href='#provenance'>provenance</a>"
        f"<a href='{SNAKEMAKE_REPORT}'>Snakemake report</a></nav>"
        f"<p>Reports: {reports}. The Snakemake report (every figure with its caption, the DAG, runtimes) is "
        f"<a href='{SNAKEMAKE_REPORT}'>{SNAKEMAKE_REPORT}</a> (<code>snakemake --report "
        f"results/{SNAKEMAKE_REPORT}</code>; <code>make reproduce</code> writes it).</p>"
        f"<section id='experiments'><h2>Experiments</h2><div class='cards'>{cards}</div></section>"
        f"{_scorecard_section(inputs)}{_timings_section(inputs, stages)}{_provenance_section(inputs.provenance)}"
        "</body></html>\n")


def write_site(manifest: Manifest, claims_files: list[Path], jobs: list[JobTiming],
               costs: dict[str, tuple[Cost, Cost]], provenance: dict[str, Any], tier: str, output: Path) -> None:
    """Read every experiment's claims and write the landing page to ``output``."""
    claims = {payload["experiment"]: payload for payload in map(read_claims, claims_files)}
    atomic_write_text(output, site_html(SiteInputs(manifest, claims, jobs, costs, provenance, tier)))


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base`` key by key; lists are replaced (as Snakemake's --configfile does)."""
    result = dict(base)
    for key, value in override.items():
        result[key] = (merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict)
                       else value)
    return result


def write_site_from_files(manifest_file: Path, claims_files: list[Path], timings: Path, config: dict[str, Any],
                          paper_tier: Path, cost_functions: dict[str, str], output: Path,
                          root: Path = Path(".")) -> None:
    """The landing page of a run: its manifest, claims, timings table and config; the paper tier's cost comes
    from ``config`` with the tier file ``paper_tier`` merged in, provenance from the checkout at ``root``."""
    manifest = load_manifest(manifest_file)
    paper = merged(config, yaml.safe_load(paper_tier.read_text(encoding="utf-8")) or {})
    costs = stage_costs(cost_functions, config, paper)
    tier = "the paper tier" if config == paper else "this run's config"
    write_site(manifest, claims_files, read_timings(timings), costs, run_provenance(root, config), tier, output)
