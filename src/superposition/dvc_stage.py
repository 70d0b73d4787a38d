"""Keep Snakemake's view of file times intact under DVC stages.

Before DVC runs a stage whose outputs persist and are cached as hard links, it "unprotects" them: every output
file is replaced by a fresh copy, stamped with the current time. Snakemake decides what to redo inside the stage
by comparing file times, so those copies would hide that an input changed (an upstream stage's output, say) and
could reorder the times of outputs that feed each other. ``restore_output_times`` gives each copy back the
modification time of its cached original (the hard-linked inode that Snakemake wrote), found through the stage's
entry in ``dvc.lock``; every stage's command in ``dvc.yaml`` calls it before Snakemake
(``python -m superposition.dvc_stage restore-times <stage> && snakemake ...``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import yaml

__all__ = ["cache_file", "locked_outputs", "restore_output_times"]


def cache_file(root: Path, md5: str) -> Path:
    """The file of the local DVC cache (DVC 3 layout) holding the object ``md5`` (``<hash>`` or ``<hash>.dir``)."""
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def locked_outputs(root: Path, stage: str) -> dict[str, Path]:
    """Every output file of ``stage`` as recorded in ``dvc.lock``: workspace path -> its cache file.

    Empty when the stage has not been locked yet. Directory outputs are expanded through their ``.dir`` listing.
    """
    lock_path = root / "dvc.lock"
    if not lock_path.is_file():
        return {}
    entry = (yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}).get("stages", {}).get(stage, {})
    files: dict[str, Path] = {}
    for out in entry.get("outs", []):
        md5 = out.get("md5")
        if not md5:
            continue
        if md5.endswith(".dir"):
            listing = cache_file(root, md5)
            if not listing.is_file():
                continue
            for item in json.loads(listing.read_text(encoding="utf-8")):
                files[f"{out['path']}/{item['relpath']}"] = cache_file(root, item["md5"])
        else:
            files[out["path"]] = cache_file(root, md5)
    return files


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def restore_output_times(root: Path | str, stage: str) -> int:
    """Give every output of ``stage`` that is a copy of its cache file (another inode, the same content) the cache
    file's modification time; returns how many files were changed. Files rewritten since the stage was locked
    (their content differs) and hard links into the cache are left alone."""
    root = Path(root)
    restored = 0
    for relative, cached in locked_outputs(root, stage).items():
        path = root / relative
        try:
            ours, original = path.stat(), cached.stat()
        except FileNotFoundError:
            continue
        if (ours.st_ino, ours.st_dev) == (original.st_ino, original.st_dev) or ours.st_size != original.st_size:
            continue
        if ours.st_mtime_ns != original.st_mtime_ns and _md5(path) == cached.parent.name + cached.name:
            os.utime(path, ns=(ours.st_atime_ns, original.st_mtime_ns))
            restored += 1
    return restored


def main(argv: list[str] | None = None) -> None:
    """`python -m superposition.dvc_stage restore-times STAGE`: run by each dvc.yaml stage before Snakemake."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("what", choices=["restore-times"])
    parser.add_argument("stage")
    parser.add_argument("--root", default=".", help="repository root (default: the working directory)")
    args = parser.parse_args(argv)
    count = restore_output_times(args.root, args.stage)
    if count:
        print(f"superposition: restored the modification times of {count} outputs of stage {args.stage!r}")


if __name__ == "__main__":
    main()
