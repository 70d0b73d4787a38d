"""The text corpus: WordNet 3.0 glosses and examples (offline default), local files, or a hub dataset.

WordNet's gloss field (``data.noun|verb|adj|adv``, after ``|``) holds a definition followed by quoted example
sentences separated by ``;``. We keep each definition and each example as a sentence: definition-style text,
the closest offline stand-in for the Wikipedia abstracts that the papers used. The .deb is read with the
standard library (an ``ar`` archive holding ``data.tar.xz``), so nothing is installed system-wide.
"""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from superposition.lm.config import CorpusConfig
from superposition.lm.models import verify_sha256

WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
WORDNET_LICENCE = """WordNet 3.0 (c) 2006 Princeton University. Used under the WordNet 3.0 license:
"Permission to use, copy, modify and distribute this software and database and its documentation for any
purpose and without fee or royalty is hereby granted, provided that you agree to comply with the following
copyright notice and statements, including the disclaimer, and that the same appear on ALL copies of the
software, database and documentation, including modifications that you make for internal use or for
distribution. WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved." The full licence and
disclaimer are in the package's copyright file (usr/share/doc/wordnet-base/copyright), copied to COPYRIGHT here.
Source: Debian package wordnet-base (sentences extracted from the gloss field of data.noun/verb/adj/adv).
"""


class CorpusError(RuntimeError):
    """The corpus cannot be built; the message names the cause and the fix."""


def _ar_members(data: bytes) -> dict[str, bytes]:
    """Members of a Unix ``ar`` archive (the container format of .deb files)."""
    if not data.startswith(b"!<arch>\n"):
        raise CorpusError("not a .deb (ar) archive")
    members, offset = {}, 8
    while offset + 60 <= len(data):
        header = data[offset:offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = data[offset + 60:offset + 60 + size]
        offset += 60 + size + (size % 2)  # members are 2-byte aligned
    return members


def read_deb_files(deb_path: Path, wanted: Iterable[str]) -> dict[str, bytes]:
    """The contents of the files named ``wanted`` (base names) inside a .deb's data archive."""
    members = _ar_members(Path(deb_path).read_bytes())
    data_name = next((name for name in members if name.startswith("data.tar")), None)
    if data_name is None:
        raise CorpusError(f"{deb_path}: no data.tar.* member")
    wanted = set(wanted)
    found = {}
    with tarfile.open(fileobj=io.BytesIO(members[data_name]), mode="r:*") as archive:
        for member in archive:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in wanted:
                found[base] = archive.extractfile(member).read()
    missing = wanted - set(found)
    if missing:
        raise CorpusError(f"{deb_path}: files not found in the package: {sorted(missing)}")
    return found


def gloss_sentences(line: str) -> list[str]:
    """Definition and example sentences of one WordNet data-file line (empty for licence header lines)."""
    if line.startswith("  ") or " | " not in line:
        return []
    gloss = line.split(" | ", 1)[1].strip()
    sentences = []
    for part in gloss.split(";"):
        part = part.strip().strip('"').strip()
        if part:
            sentences.append(part)
    return sentences


def wordnet_sentences(deb_path: Path, sha256: str) -> tuple[list[str], str]:
    """Every gloss sentence of WordNet 3.0 in file order, and the package's copyright text."""
    if not Path(deb_path).exists():
        raise CorpusError(f"WordNet package not found at {deb_path}; run `make setup` (it fetches wordnet-base "
                          "with `apt-get download`), or set lm.corpus.source to 'files'")
    verify_sha256(Path(deb_path), sha256, "wordnet-base .deb")
    files = read_deb_files(deb_path, [*WORDNET_FILES, "copyright"])
    sentences = [s for name in WORDNET_FILES
                 for line in files[name].decode("utf-8", errors="replace").splitlines()
                 for s in gloss_sentences(line)]
    return sentences, files["copyright"].decode("utf-8", errors="replace")


def file_sentences(paths: Iterable[str]) -> list[str]:
    """Non-empty lines of local text files, in order."""
    sentences = []
    for path in paths:
        if not Path(path).is_file():
            raise CorpusError(f"corpus file {path} does not exist")
        sentences += [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return sentences


def hub_sentences(dataset: str, split: str, field: str) -> list[str]:
    """The text column of a Hugging Face dataset (needs internet, or a local datasets cache)."""
    try:
        from datasets import load_dataset

        rows = load_dataset(dataset, split=split)
    except Exception as error:  # offline, unknown id: one message for the user
        raise CorpusError(f"hub dataset {dataset!r} could not be loaded ({type(error).__name__}: {error}); "
                          "offline, use lm.corpus.source 'wordnet' or 'files'") from error
    return [str(text).strip() for text in rows[field] if str(text).strip()]


@dataclass
class Corpus:
    """The deduplicated sentences, split deterministically."""

    train: list[str]
    eval: list[str]
    licence: str

    def digest(self, split: str = "train") -> str:
        """SHA-256 of a split's sentences (newline-joined): identifies the corpus slice in manifests."""
        return hashlib.sha256("\n".join(getattr(self, split)).encode()).hexdigest()


def split_sentences(sentences: list[str], min_characters: int, eval_fraction: float, seed: int) -> tuple[list, list]:
    """Drop short sentences and duplicates (first occurrence kept), shuffle with ``seed``, split off the eval part."""
    seen: set[str] = set()
    unique = [s for s in sentences if len(s) >= min_characters and not (s in seen or seen.add(s))]
    random.Random(seed).shuffle(unique)
    n_eval = int(round(len(unique) * eval_fraction))
    return unique[n_eval:], unique[:n_eval]


def build_corpus(config: CorpusConfig) -> Corpus:
    """Read the configured source and split it."""
    if config.source == "wordnet":
        sentences, copyright_text = wordnet_sentences(Path(config.wordnet_deb), config.wordnet_deb_sha256)
        licence = WORDNET_LICENCE + "\n\n" + copyright_text
    elif config.source == "files":
        sentences, licence = file_sentences(config.files), "Local files: " + ", ".join(config.files)
    else:
        if not config.hub_dataset:
            raise CorpusError("lm.corpus.source is 'hub' but lm.corpus.hub_dataset is not set")
        sentences = hub_sentences(config.hub_dataset, config.hub_split, config.hub_text_field)
        licence = f"Hugging Face dataset {config.hub_dataset} (see its dataset card for the licence)."
    if not sentences:
        raise CorpusError(f"the corpus source {config.source!r} gave no sentences")
    train, held_out = split_sentences(sentences, config.min_characters, config.eval_fraction, config.seed)
    return Corpus(train, held_out, licence)


def write_corpus(corpus: Corpus, folder: Path) -> dict:
    """Write train.txt, eval.txt (one sentence per line), LICENCE.txt and a summary; returns the summary."""
    from superposition.io import atomic_write_json, atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "train.txt", "\n".join(corpus.train) + "\n")
    atomic_write_text(folder / "eval.txt", "\n".join(corpus.eval) + "\n")
    atomic_write_text(folder / "LICENCE.txt", corpus.licence)
    summary = {"train_sentences": len(corpus.train), "eval_sentences": len(corpus.eval),
               "train_sha256": corpus.digest("train"), "eval_sha256": corpus.digest("eval")}
    atomic_write_json(folder / "corpus.json", summary)
    return summary


def read_split(folder: Path, split: str = "train") -> list[str]:
    """Sentences of a split written by :func:`write_corpus`."""
    path = Path(folder) / f"{split}.txt"
    if not path.exists():
        raise CorpusError(f"{path} does not exist; build the corpus first (`snakemake {folder}/corpus.json`)")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]
