"""Tiny language models and corpora built locally from a seed: the smoke tier's stand-ins (no hub, no real
weights). The smoke tier and the tests build them with these functions, never download them."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["WORDS", "sentences", "build_tiny_bert", "build_tiny_gpt_neox", "write_corpus"]

WORDS = ("the a an of to in is was for on with as by at from that this it be are or which and not its "
         "animal plant person place state act thing small large water food make move part body time "
         "light sound colour form group line cell system having being used without relating").split()


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` deterministic pseudo-sentences of 4–11 words from :data:`WORDS`."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(4, 12, (1,), generator=generator))
        out.append(" ".join(WORDS[int(i)] for i in torch.randint(len(WORDS), (length,), generator=generator)))
    return out


def build_tiny_bert(folder: Path, layers: int = 2, hidden: int = 16, seed: int = 0) -> Path:
    """Save a random BertModel (``layers`` layers, width ``hidden``, MLP 2×hidden) and a WordPiece tokenizer."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5 ignores `vocab_file` here (every word became [UNK]); the vocabulary is passed as a mapping.
    tokenizer = BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64)
        BertModel(config).eval().save_pretrained(folder)
    finally:
        torch.random.set_rng_state(state)  # leave the caller's global stream as it was
    return folder


def build_tiny_gpt_neox(folder: Path, layers: int = 2, hidden: int = 16, seed: int = 0) -> Path:
    """Save a random GPTNeoXModel (the Pythia architecture; ``layers`` layers, width ``hidden``, MLP 3×hidden) and a
    word-level tokenizer of :data:`WORDS` with an end-of-text token, as a decoder-only stand-in."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPTNeoXConfig, GPTNeoXModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate(["<|endoftext|>", "<unk>", *WORDS])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<|endoftext|>",
                                        bos_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        config = GPTNeoXConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                               num_attention_heads=2, intermediate_size=3 * hidden, max_position_embeddings=64,
                               bos_token_id=0, eos_token_id=0)
        GPTNeoXModel(config).eval().save_pretrained(folder)
    finally:
        torch.random.set_rng_state(state)
    return folder


def write_corpus(path: Path, n: int = 300, seed: int = 0) -> Path:
    """A text file of ``n`` pseudo-sentences, one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sentences(n, seed)) + "\n", encoding="utf-8")
    return path
