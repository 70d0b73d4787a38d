"""superposition.dvc_stage: outputs re-stamped by DVC's unprotect get their cached times back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import yaml

from superposition.dvc_stage import cache_file, locked_outputs, restore_output_times

OLD = 1_600_000_000_000_000_000  # ns


def _cache(root: Path, data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    path = cache_file(root, md5)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(OLD, OLD))
    return md5


def _locked_stage(root: Path) -> None:
    """Stage 's' with a directory output out/ (files a, b) and a file output single.txt, locked and cached."""
    files = {"a": b"first", "b": b"second"}
    listing = [{"md5": _cache(root, data), "relpath": name} for name, data in files.items()]
    text = json.dumps(listing).encode()
    dir_md5 = hashlib.md5(text).hexdigest() + ".dir"
    cache_file(root, dir_md5).parent.mkdir(parents=True, exist_ok=True)
    cache_file(root, dir_md5).write_bytes(text)
    single = _cache(root, b"single")
    lock = {"stages": {"s": {"cmd": "true", "outs": [{"path": "out", "hash": "md5", "md5": dir_md5},
                                                      {"path": "single.txt", "hash": "md5", "md5": single}]}}}
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    (root / "out").mkdir()
    for name, data in files.items():  # as DVC's unprotect leaves them: copies stamped now
        shutil.copyfile(cache_file(root, hashlib.md5(data).hexdigest()), root / "out" / name)
    os.link(cache_file(root, single), root / "single.txt")  # still a hard link into the cache


def test_unprotected_copies_get_their_cached_times_back(tmp_path):
    _locked_stage(tmp_path)
    assert set(locked_outputs(tmp_path, "s")) == {"out/a", "out/b", "single.txt"}
    (tmp_path / "out/b").write_bytes(b"SECOND")  # rewritten since: same size, other content
    assert restore_output_times(tmp_path, "s") == 1
    assert (tmp_path / "out/a").stat().st_mtime_ns == OLD
    assert (tmp_path / "out/b").stat().st_mtime_ns != OLD
    assert (tmp_path / "single.txt").stat().st_mtime_ns == OLD  # the hard link was never touched
    assert restore_output_times(tmp_path, "s") == 0


def test_nothing_to_restore_before_the_first_lock(tmp_path):
    assert locked_outputs(tmp_path, "s") == {} and restore_output_times(tmp_path, "s") == 0
    _locked_stage(tmp_path)
    assert locked_outputs(tmp_path, "other") == {}
