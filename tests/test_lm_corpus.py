"""The corpus: WordNet gloss parsing, reading a .deb without dpkg, deterministic split, file sources."""

from __future__ import annotations

import io
import tarfile

import pytest

from superposition.io import sha256_file
from superposition.lm.config import CorpusConfig
from superposition.lm.corpus import (
    CorpusError,
    build_corpus,
    gloss_sentences,
    read_split,
    split_sentences,
    write_corpus,
)

NOUN_LINE = ('00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known; '
             '"the entity was seen"; "an entity"  ')


def test_gloss_gives_definition_and_examples_and_skips_the_licence_header():
    assert gloss_sentences(NOUN_LINE) == ["that which is perceived or known", "the entity was seen", "an entity"]
    assert gloss_sentences("  1 This software and database is being provided to you") == []


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) % 2 else b""
    return out


def fake_wordnet_deb(path, lines: list[str]) -> str:
    """A .deb (ar + data.tar.xz) laid out like wordnet-base; returns its SHA-256."""
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:xz") as archive:
        files = {"./usr/share/wordnet/data.noun": "\n".join(lines).encode(),
                 "./usr/share/doc/wordnet-base/copyright": b"WordNet 3.0 Copyright 2006 by Princeton University."}
        for name in ("data.verb", "data.adj", "data.adv"):
            files[f"./usr/share/wordnet/{name}"] = b""
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(_ar({"debian-binary": b"2.0\n", "control.tar.xz": b"", "data.tar.xz": payload.getvalue()}))
    return sha256_file(path)


def corpus_config(**values) -> CorpusConfig:
    fields = dict(source="wordnet", wordnet_deb="", wordnet_deb_sha256="", files=(), hub_dataset=None,
                  hub_split="train", hub_text_field="text", min_characters=5, eval_fraction=0.25, seed=0)
    return CorpusConfig(**{**fields, **values})


def test_wordnet_corpus_from_a_deb_with_licence(tmp_path):
    lines = ["  1 licence header", NOUN_LINE, NOUN_LINE.replace("00001740", "00001741").replace("known", "felt")]
    digest = fake_wordnet_deb(tmp_path / "wn.deb", lines)
    corpus = build_corpus(corpus_config(wordnet_deb=str(tmp_path / "wn.deb"), wordnet_deb_sha256=digest))
    # 6 sentences, 2 of them duplicates -> 4 unique; a quarter held out
    assert sorted(corpus.train + corpus.eval) == sorted(
        ["that which is perceived or known", "that which is perceived or felt", "the entity was seen", "an entity"])
    assert len(corpus.eval) == 1 and "Princeton" in corpus.licence
    write_corpus(corpus, tmp_path / "out")
    assert read_split(tmp_path / "out", "eval") == corpus.eval
    assert (tmp_path / "out" / "LICENCE.txt").read_text().startswith("WordNet 3.0")


def test_wordnet_deb_hash_and_presence_are_checked(tmp_path):
    fake_wordnet_deb(tmp_path / "wn.deb", [NOUN_LINE])
    with pytest.raises(RuntimeError, match="hash mismatch"):
        build_corpus(corpus_config(wordnet_deb=str(tmp_path / "wn.deb"), wordnet_deb_sha256="0" * 64))
    with pytest.raises(CorpusError, match="make setup"):
        build_corpus(corpus_config(wordnet_deb=str(tmp_path / "missing.deb")))


def test_split_is_deterministic_deduplicated_and_seeded():
    sentences = [f"sentence number {i}" for i in range(100)] + ["sentence number 3", "tiny"]
    train, held_out = split_sentences(sentences, min_characters=5, eval_fraction=0.1, seed=0)
    assert len(train) == 90 and len(held_out) == 10 and not set(train) & set(held_out)
    assert (train, held_out) == split_sentences(sentences, 5, 0.1, 0)
    assert split_sentences(sentences, 5, 0.1, 1) != (train, held_out)


def test_file_source_and_its_errors(tmp_path):
    (tmp_path / "a.txt").write_text("first line here\n\nsecond line here\n")
    corpus = build_corpus(corpus_config(source="files", files=(str(tmp_path / "a.txt"),), eval_fraction=0.0))
    assert sorted(corpus.train) == ["first line here", "second line here"]
    with pytest.raises(CorpusError, match="does not exist"):
        build_corpus(corpus_config(source="files", files=(str(tmp_path / "b.txt"),)))
    with pytest.raises(CorpusError, match="hub_dataset is not set"):
        build_corpus(corpus_config(source="hub"))
