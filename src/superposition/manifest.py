"""The experiment manifest (``workflow/experiments.yaml``): the one list of the workflow's stages.

Each stage is one declaration; the Snakefile's includes, the config root, the scorecard's inputs, ``dvc.yaml``,
the smoke test's expected outputs and the report captions are derived from it here, so that adding an
experiment never means editing lists scattered over the repository. ``python -m superposition.manifest
dvc-yaml`` prints the generated ``dvc.yaml`` (``make dvc-yaml``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from superposition.config import ConfigError, param, parse_config

__all__ = ["Stage", "Experiment", "Manifest", "load_manifest", "config_class", "dvc_yaml", "rule_names",
           "script_paths", "MANIFEST_FILE"]

MANIFEST_FILE = "workflow/experiments.yaml"


@dataclass(frozen=True)
class Stage:
    """A shared layer that experiments build on (no claims, no report)."""

    name: str = param("identifier: the config section, rule file workflow/rules/<name>.smk and DVC stage")
    title: str = param("one line: what the stage makes")
    config_class: str = param("dotted path of the config dataclass of section <name> (e.g. superposition.lm.config"
                              ".LMConfig)")
    outs: tuple[str, ...] = param("folders/files the stage writes, as DVC outputs", min_items=1)
    description: str = param("the config section's description in the schema (default: the title)", default="")
    target: str = param("the stage's target rule (default: <name>)", default="")
    reads: tuple[str, ...] = param("outputs of other stages it reads (DVC dependencies; they decide the stage order)",
                                   default=())
    deps: tuple[str, ...] = param("further files it depends on, beside its rule file, scripts and the library",
                                  default=())
    lm_sites: tuple[str, ...] = param("config keys of this stage that name activation sites it adds to the lm "
                                      "stage's caches (the lm DVC stage depends on them)", default=())
    smoke_outputs: tuple[str, ...] = param("files the smoke run must produce beyond claims, report and figures",
                                           default=())
    cost: str = param("dotted path of a function (whole config dict) -> superposition.cost.Cost: the stage's "
                      "expected compute, shown on the results site for this tier and the paper tier", default="")

    @property
    def rule_file(self) -> str:
        """The stage's Snakemake rules, relative to the repository root."""
        return f"workflow/rules/{self.name}.smk"

    @property
    def target_rule(self) -> str:
        return self.target or self.name

    @property
    def is_experiment(self) -> bool:
        return False


@dataclass(frozen=True)
class Experiment(Stage):
    """One replicated paper's experiment: a stage with claims and a rendered report."""

    paper: str = param("authors (year), title", default="")
    source: str = param("which part of the paper it replicates", default="")
    metrics: str = param("a JSON file of headline metrics (DVC metrics), if any", default="")
    figures: dict[str, str] = param("figure name -> caption; the report writes results/<name>/figures/<figure>.png",
                                    default={})

    @property
    def is_experiment(self) -> bool:
        return True

    @property
    def results_dir(self) -> str:
        return f"results/{self.name}"

    @property
    def claims(self) -> str:
        return f"results/{self.name}/claims.json"

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.name}.ipynb"

    @property
    def report_files(self) -> list[str]:
        """The report rule's outputs: executed notebook, HTML report and every figure."""
        return ([f"{self.results_dir}/{self.name}.ipynb", f"{self.results_dir}/report.html"]
                + [self.figure_path(name) for name in self.figures])

    def figure_path(self, name: str) -> str:
        return f"{self.results_dir}/figures/{name}.png"


@dataclass(frozen=True)
class _ManifestFile:
    """The manifest file: shared stages first, then experiments, each in the order DVC runs them."""

    shared: tuple[Stage, ...] = param("shared layers")
    experiments: tuple[Experiment, ...] = param("experiments", min_items=1)


@dataclass(frozen=True)
class Manifest:
    """Every stage of the workflow, shared layers first."""

    shared: tuple[Stage, ...]
    experiments: tuple[Experiment, ...]

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self.shared + self.experiments

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` (ValueError naming the known ones otherwise)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ValueError(f"no stage {name!r} in the manifest; stages are {[s.name for s in self.stages]}")

    @cached_property
    def claims_files(self) -> list[str]:
        return [experiment.claims for experiment in self.experiments]

    def needs(self, stage: Stage) -> list[Stage]:
        """The stages whose outputs ``stage`` reads (a read path lies inside one of their outs)."""
        found = []
        for other in self.stages:
            if other is not stage and any(_inside(path, out) for path in stage.reads for out in other.outs):
                found.append(other)
        return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _check(manifest: Manifest) -> None:
    names = [stage.name for stage in manifest.stages]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"manifest: stage names repeat: {repeated}")
    for stage in manifest.stages:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", stage.name):
            raise ConfigError(f"manifest: stage name {stage.name!r} must be lower_snake_case")
        orphans = [path for path in stage.reads if not any(_inside(path, out) for other in manifest.stages
                                                          if other is not stage for out in other.outs)]
        if orphans:
            raise ConfigError(f"manifest: stage {stage.name!r} reads {orphans}, which no other stage's outs contain")
        order = names.index(stage.name)
        late = [other.name for other in manifest.needs(stage) if names.index(other.name) > order]
        if late:
            raise ConfigError(f"manifest: stage {stage.name!r} reads outputs of {late}, listed after it; list "
                              "stages in the order they run")


def load_manifest(path: Path | str) -> Manifest:
    """Read and check the manifest (ConfigError naming the key on a bad entry)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        parsed = parse_config(_ManifestFile, data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    manifest = Manifest(parsed.shared, parsed.experiments)
    _check(manifest)
    return manifest


def config_class(stage: Stage) -> type:
    """Import the config dataclass a stage names."""
    module, _, name = stage.config_class.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"manifest: stage {stage.name!r}: cannot import config_class {stage.config_class!r} "
                          f"({error})") from None


_RULE = re.compile(r"^rule (\w+):", re.MULTILINE)
_SCRIPT = re.compile(r"^\s+script:\s*\n\s+\"\.\./scripts/([\w.]+)\"", re.MULTILINE)


def rule_names(rule_file_text: str) -> list[str]:
    """The rules a .smk file defines, in order."""
    return _RULE.findall(rule_file_text)


def script_paths(rule_file_text: str) -> list[str]:
    """The adapter scripts (workflow/scripts/...) a .smk file's rules run, sorted and unique."""
    return sorted({f"workflow/scripts/{name}" for name in _SCRIPT.findall(rule_file_text)})


def _stage_rules(stage: Stage, root: Path) -> tuple[list[str], list[str]]:
    text = (root / stage.rule_file).read_text(encoding="utf-8")
    return rule_names(text), script_paths(text)


def _dvc_stage(manifest: Manifest, stage: Stage, root: Path) -> dict:
    rules, scripts = _stage_rules(stage, root)
    upstream: list[Stage] = []
    pending = manifest.needs(stage)
    while pending:  # every stage it depends on, transitively
        current = pending.pop(0)
        if current not in upstream:
            upstream.append(current)
            pending.extend(manifest.needs(current))
    allowed = list(rules)
    for other in sorted(upstream, key=manifest.stages.index):
        allowed += _stage_rules(other, root)[0]
    allowed += _shared_rules(root)
    deps = ["Snakefile", MANIFEST_FILE, "workflow/rules/common.smk", stage.rule_file, *scripts,
            "workflow/schemas/config.schema.yaml", "src/superposition", *stage.deps]
    if stage.is_experiment:
        deps.append(stage.notebook)
    deps += list(stage.reads)
    params = ["device", stage.name]
    if stage.name == "lm":
        params += [key for other in manifest.stages for key in other.lm_sites]
    return {
        "cmd": _stage_command(stage.name, stage.target_rule, allowed),
        "deps": deps,
        "params": [{"config.yaml": params}],
        "outs": [{out: {"persist": True}} for out in stage.outs],
    }


def _stage_command(stage: str, target: str, allowed: list[str]) -> str:
    """A stage's command: first undo DVC's re-stamping of the outputs (superposition.dvc_stage), then Snakemake."""
    return (f"python -m superposition.dvc_stage restore-times {stage} && "
            f"snakemake {target} --cores all --allowed-rules {' '.join(allowed)}")


def _shared_rules(root: Path) -> list[str]:
    """Rules of workflow/rules/common.smk (MathJax for the reports): any stage may run them."""
    return rule_names((root / "workflow/rules/common.smk").read_text(encoding="utf-8"))


def _site_stage(manifest: Manifest, root: Path) -> dict:
    rules, scripts = _stage_rules(Stage("site", "", "", ("results/index.html",)), root)
    return {
        "cmd": f"snakemake site --cores all --allowed-rules {' '.join(rules + _shared_rules(root))}",
        "deps": ["workflow/rules/site.smk", *scripts, "src/superposition", "configs/paper.yaml",
                 "results/scorecard.md", *[e.results_dir for e in manifest.experiments]],
        "params": [{"config.yaml": [stage.name for stage in manifest.stages]}],
        "outs": [{path: {"persist": True, "cache": False}} for path in ("results/timings.tsv", "results/index.html")],
    }


def _scorecard_stage(manifest: Manifest, root: Path) -> dict:
    rules, scripts = _stage_rules(Stage("scorecard", "", "", ("results/scorecard.md",)), root)
    claim_rules = [f"{experiment.name}_claims" for experiment in manifest.experiments]
    return {
        "cmd": _stage_command("scorecard", "scorecard", rules + claim_rules),
        "deps": ["workflow/rules/scorecard.smk", *scripts, "src/superposition", *manifest.claims_files],
        "outs": [{path: {"persist": True}} for path in ("results/scorecard.md", "results/scorecard.html")],
    }


DVC_HEADER = """\
# GENERATED from workflow/experiments.yaml by `make dvc-yaml`; do not edit (a test compares it with the manifest).
# DVC wraps the Snakemake targets: `dvc repro` runs what changed and caches the outputs; a second `dvc repro`
# does nothing. Snakemake decides which jobs inside a stage rerun; DVC decides whether a stage runs at all.
# Outputs persist: DVC must not delete them before a run, or Snakemake would redo every job of the stage.
# Every output is cached (`dvc push`/`dvc pull` share them), except the site's (timings differ per run). The cache hard-links files (.dvc/config:
# cache.type = hardlink) so that caching keeps their times; before a run DVC replaces them by fresh copies, so
# each command first gives the copies back their cached times (superposition.dvc_stage). A stage's
# --allowed-rules are its own rules and those of the stages it reads from: DVC has already brought those up to
# date, so they never run here, but only then does Snakemake notice a regenerated input and rerun what depends
# on it. After `dvc pull`/`dvc checkout` in a fresh clone, run `snakemake --touch --cores 1` once so Snakemake
# trusts the restored files' times.
"""


def dvc_yaml(manifest: Manifest, root: Path | str = ".") -> str:
    """The text of ``dvc.yaml``: one stage per manifest stage, then the scorecard and the results site;
    experiments' metrics."""
    root = Path(root)
    stages = {stage.name: _dvc_stage(manifest, stage, root) for stage in manifest.stages}
    stages["scorecard"] = _scorecard_stage(manifest, root)
    stages["site"] = _site_stage(manifest, root)
    document = {"stages": stages,
                "metrics": [e.metrics for e in manifest.experiments if e.metrics]}
    return DVC_HEADER + yaml.safe_dump(document, sort_keys=False, width=110)


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.manifest dvc-yaml [--root DIR]`: print the generated dvc.yaml."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("what", choices=["dvc-yaml"])
    parser.add_argument("--root", default=".", help="repository root (default: the working directory)")
    args = parser.parse_args(argv)
    manifest = load_manifest(Path(args.root) / MANIFEST_FILE)
    sys.stdout.write(dvc_yaml(manifest, args.root))


if __name__ == "__main__":
    main()
