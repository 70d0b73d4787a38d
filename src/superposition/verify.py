"""`make verify`: re-hash every cache and prepared model against the checksums recorded when it was written.

Snakemake does not re-read a finished ``directory()`` output, so a shard corrupted on disk goes unnoticed until a
job reads it. This check names each corrupt or missing file with the command that rebuilds it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from superposition.io import sha256_file

__all__ = ["Problem", "verify_data", "main"]


@dataclass(frozen=True)
class Problem:
    """A file that does not match its recorded checksum (or is missing), and how to rebuild it."""

    path: Path
    reason: str
    rebuild: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}; rebuild with `{self.rebuild}`"


def _rebuild(target: Path) -> str:
    return f"snakemake --cores all --forcerun {target}"


def _cache_target(manifest: Path, data_dir: Path) -> Path:
    """The declared Snakemake output that holds a cache's manifest (activation caches: <model>/<variant>)."""
    relative = manifest.relative_to(data_dir)
    if relative.parts[0] == "activations":
        return manifest.parent.parent
    return manifest.parent


def _check(path: Path, expected: str, target: Path) -> Problem | None:
    if not path.is_file():
        return Problem(path, "missing", _rebuild(target))
    if sha256_file(path) != expected:
        return Problem(path, "corrupt (SHA-256 differs from the manifest)", _rebuild(target))
    return None


def verify_data(data_dir: Path | str = "data") -> tuple[int, list[Problem]]:
    """(files checked, problems) over every sharded cache (manifest.json with shards) and prepared model."""
    data_dir = Path(data_dir)
    checked, problems = 0, []
    for manifest in sorted(data_dir.rglob("manifest.json")):
        shards = json.loads(manifest.read_text(encoding="utf-8")).get("shards")
        if not isinstance(shards, list):
            continue
        target = _cache_target(manifest, data_dir)
        for shard in shards:
            checked += 1
            problem = _check(manifest.parent / shard["file"], shard["sha256"], target)
            if problem:
                problems.append(problem)
    for record_path in sorted(data_dir.glob("models/*/model.json")):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record.get("prepared_weights_sha256"):
            checked += 1
            problem = _check(record_path.parent / record["prepared_weights"], record["prepared_weights_sha256"],
                             record_path)
            if problem:
                problems.append(problem)
    return checked, problems


def main(argv: list[str] | None = None) -> int:
    """`python -m superposition.verify [DATA_DIR]`: exit 1 if any cache or prepared model is corrupt or missing."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data_dir", nargs="?", default="data")
    args = parser.parse_args(argv)
    checked, problems = verify_data(args.data_dir)
    for problem in problems:
        print(problem)
    print(f"verify: {checked} file(s) checked, {len(problems)} corrupt or missing")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
