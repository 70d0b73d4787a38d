"""The smoke tier as a runnable workflow: a scratch copy of the repository's workflow files with
``configs/smoke.yaml`` merged into its ``config.yaml`` and the tiny models it names built locally.

``python -m superposition.smoke [DIR]`` (``make smoke``) prepares ``DIR`` (default ``.smoke``); running
``snakemake`` inside it runs the whole DAG in a few minutes. The end-to-end tests use the same function, so the
command line and the tests run the same smoke tier. The copy keeps the repository's own results/ untouched.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

from superposition.lm.tiny_models import build_tiny_bert, write_corpus

__all__ = ["WORKFLOW_FILES", "merged_config", "make_smoke_workdir"]

# What a workflow run reads from the repository (src/ is needed by DVC's dependencies; imports use the install).
WORKFLOW_FILES = ("Snakefile", "config.yaml", "configs", "workflow", "profiles", "notebooks", "dvc.yaml",
                  ".dvc/config", ".dvcignore", "src", "envs")
# The local stand-ins configs/smoke.yaml names (lm.models.tiny_bert.path and lm.corpus.files).
TINY_BERT, SMOKE_CORPUS = "data/tiny_bert", "data/smoke_corpus.txt"


def _merge(base: dict, override: dict) -> dict:
    """``override`` merged into ``base`` key by key (lists are replaced, as Snakemake's --configfile does)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged


def merged_config(repo: Path, tier: str = "configs/smoke.yaml") -> dict:
    """``config.yaml`` with a tier file merged in."""
    base = yaml.safe_load((repo / "config.yaml").read_text(encoding="utf-8"))
    return _merge(base, yaml.safe_load((repo / tier).read_text(encoding="utf-8")))


def make_smoke_workdir(repo: Path, destination: Path) -> Path:
    """Copy the workflow of ``repo`` into ``destination`` (replacing what was there) with the smoke tier as its
    ``config.yaml``, and build the tiny model and corpus it needs; returns ``destination``."""
    repo, destination = Path(repo).resolve(), Path(destination).resolve()
    for name in WORKFLOW_FILES:
        source, target = repo / name, destination / name
        if not source.exists() and not source.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        if source.is_symlink():  # profiles -> workflow/profiles: keep it a link
            target.symlink_to(source.readlink())
        elif source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    # Fetched inputs (the chess engine and opening books of `make setup`): read in place, never copied.
    external, linked = repo / "data" / "external", destination / "data" / "external"
    if external.is_dir() and not linked.exists():
        linked.parent.mkdir(parents=True, exist_ok=True)
        linked.symlink_to(external, target_is_directory=True)
    config = yaml.safe_dump(merged_config(repo), sort_keys=False)
    (destination / "config.yaml").write_text(config, encoding="utf-8")
    if not (destination / TINY_BERT / "config.json").exists():
        build_tiny_bert(destination / TINY_BERT)
    write_corpus(destination / SMOKE_CORPUS)
    return destination


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.smoke [DIR]`: prepare the smoke workflow in DIR (default .smoke)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("workdir", nargs="?", default=".smoke")
    parser.add_argument("--repo", default=".", help="the repository to copy (default: the working directory)")
    args = parser.parse_args(argv)
    workdir = make_smoke_workdir(Path(args.repo), Path(args.workdir))
    print(f"smoke workflow ready in {workdir}: cd {args.workdir} && snakemake --cores all")


if __name__ == "__main__":
    main()
