"""Fingerprints of library code, so that results are recomputed when the code that made them changes.

Snakemake reruns a job when its ``params`` change but does not watch imported modules. Every rule therefore
passes ``code=code_fingerprint("superposition.<module>")`` as a param: a SHA-256 over the source of that
module and of every ``superposition`` module it imports, followed transitively. Editing any of them (even a
comment) invalidates exactly the results that depend on it; editing an unrelated experiment does not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["code_fingerprint", "module_dependencies", "notebook_modules", "notebook_fingerprint", "config_hash",
           "git_commit", "package_versions", "run_provenance", "PROVENANCE_PACKAGES"]

_PACKAGE = "superposition"


_ROOT = Path(__file__).resolve().parent  # the superposition package's folder


@lru_cache(maxsize=None)
def _source_path(module: str) -> Path | None:
    """The source file of ``superposition`` module ``module`` (``a/b.py`` or ``a/b/__init__.py``), found on disk
    without importing anything (importing would pull torch into parsing the Snakefile); None if there is none."""
    if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
        return None
    parts = module.split(".")[1:]
    folder = _ROOT.joinpath(*parts)
    for candidate in (folder / "__init__.py", folder.with_suffix(".py") if parts else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _module_path(module: str) -> Path:
    path = _source_path(module)
    if path is None:
        raise ModuleNotFoundError(f"no module named {module!r}")
    return path


def _is_package(module: str) -> bool:
    return _module_path(module).name == "__init__.py"


@lru_cache(maxsize=None)
def _imports(module: str) -> frozenset[str]:
    """Names of the ``superposition`` modules imported by ``module`` (absolute and relative imports)."""
    tree = ast.parse(_module_path(module).read_text(encoding="utf-8"))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import name` may name a submodule or an attribute: keep whichever is a module.
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if _is_library_module(name))
    return frozenset(found)


def _is_library_module(name: str) -> bool:
    return _source_path(name) is not None


@lru_cache(maxsize=None)
def module_dependencies(module: str) -> tuple[str, ...]:
    """``module`` and every ``superposition`` module it reaches through imports, sorted."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(_imports(current) - seen)
    return tuple(sorted(seen))


def code_fingerprint(*modules: str) -> str:
    """SHA-256 (hex, first 16 characters) over the sources of ``modules`` and their dependencies."""
    digest = hashlib.sha256()
    for name in sorted({dep for module in modules for dep in module_dependencies(module)}):
        digest.update(name.encode())
        digest.update(_module_path(name).read_bytes())
    return digest.hexdigest()[:16]


_NOTEBOOK_IMPORT = re.compile(r"^\s*(?:from\s+(superposition(?:\.\w+)*)\s+import\s+([\w ,]+)|import\s+(superposition(?:\.\w+)*))",
                              re.MULTILINE)


def notebook_modules(notebook: Path | str) -> tuple[str, ...]:
    """The ``superposition`` modules a notebook's code cells import (``from superposition.x import y`` counts
    ``superposition.x`` and, if it is a module, ``superposition.x.y``), sorted."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    found: set[str] = set()
    for package, names, module in _NOTEBOOK_IMPORT.findall(code):
        candidates = [module] if module else [package, *(f"{package}.{n.strip()}" for n in names.split(","))]
        found.update(name for name in candidates if name and _is_library_module(name))
    return tuple(sorted(found))


def notebook_fingerprint(notebook: Path | str, *modules: str) -> str:
    """:func:`code_fingerprint` of every library module a report notebook imports (and ``modules``): editing a
    plotting or table function reruns the reports that call it."""
    return code_fingerprint(*notebook_modules(notebook), *modules)


# The packages whose versions the results site records beside the commit (the lock pins them all).
PROVENANCE_PACKAGES = ("superposition-replications", "torch", "numpy", "pandas", "scikit-learn", "matplotlib",
                       "safetensors", "transformers", "onnxruntime", "chess", "snakemake", "dvc", "papermill",
                       "nbconvert")


def config_hash(config: dict) -> str:
    """SHA-256 (hex, first 16 characters) of a config as canonical JSON (sorted keys): equal configs, equal hash."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit(root: Path | str = ".") -> tuple[str | None, bool]:
    """(commit, dirty) of the git checkout at ``root``: the HEAD commit and whether tracked files differ from it;
    (None, False) outside a checkout or without commits."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)

    try:
        head = git("rev-parse", "--verify", "--quiet", "HEAD")
    except OSError:  # no git on this machine
        return None, False
    if head.returncode != 0:
        return None, False
    status = git("status", "--porcelain", "--untracked-files=no")
    return head.stdout.strip(), bool(status.stdout.strip())


def package_versions(names: tuple[str, ...] = PROVENANCE_PACKAGES) -> dict[str, str]:
    """Installed version of each distribution in ``names`` ("not installed" where absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_provenance(root: Path | str, config: dict) -> dict:
    """What produced a set of results: commit (and whether the checkout was modified), the config's hash,
    Python, platform and the versions of the main packages."""
    commit, dirty = git_commit(root)
    return {"commit": commit, "dirty": dirty, "config_hash": config_hash(config),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "packages": package_versions()}
