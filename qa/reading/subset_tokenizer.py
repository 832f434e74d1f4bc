"""The default model's tokenizer for a few texts at a time, without loading its vocabulary.

Loading tokenizer.json costs ~0.9 s of CPU, all of it building the Unigram model of 250,002
pieces, and holds the GIL meanwhile; a one-shot `qa ask` reads four texts. A Unigram
segmentation only uses pieces that occur in the normalised, pre-tokenised text, so a
tokenizer whose vocabulary is cut to those pieces (with their scores) segments the texts
exactly as the full one does, offsets included (tests/test_subset_tokenizer.py compares
both). Building it costs ~4-5 ms for a question and three passages, Chinese or English
(1.4 ms with the full one); what it needs is a table of the pieces, derived once from
tokenizer.json into the model directory and unpickled in ~0.1 s.

Unknown characters do not change this: the default tokenizer isolates every character without
a piece of its own (index/default_model.py), so `<unk>` never competes with a piece and the
cut vocabulary's lower minimum score (Unigram derives the `<unk>` score from it) cannot matter.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

TABLE_FILE = "tokenizer-pieces.pickle"
_TABLE_VERSION = 3


@dataclass(frozen=True)
class Encoding:
    """One text's tokens: ids of the full vocabulary, character offsets in the text."""

    ids: list[int]
    offsets: list[tuple[int, int]]


@dataclass(frozen=True)
class _PieceTable:
    template: str
    """tokenizer.json with the vocabulary emptied: normaliser, pre-tokeniser, specials."""
    ids: dict[str, int]
    scores: array
    specials: dict[int, str]
    """The added tokens (<s>, <pad>, </s>, <unk>, <mask>) by id."""
    unk: int
    longest: dict[str, int]
    """Per first two characters, the length of the longest piece starting with them."""
    word_start: str | None
    """A character that occurs in pieces only as their first ("▁" in SentencePiece
    vocabularies): no piece crosses it, so text is scanned word by word, each distinct word
    once. None when the vocabulary has no such character."""


class SubsetTokenizer:
    """`encode_batch` of `tokenizers.Tokenizer` (no special tokens added, no padding or
    truncation), building per batch a tokenizer over the pieces the batch contains."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self._table = _load_table(Path(model_dir))
        template = Tokenizer.from_str(self._table.template)
        self._normalizer = template.normalizer
        self._pre_tokenizer = template.pre_tokenizer

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = False) -> list[Encoding]:
        if add_special_tokens:
            raise ValueError("SubsetTokenizer adds no special tokens; encode_pairs lays them out")
        from tokenizers import AddedToken, Tokenizer, models

        table = self._table
        found = dict(table.specials)
        words: set[str] = set()
        for text in texts:
            normal = self._normalizer.normalize_str(text) if self._normalizer else text
            for word, _ in self._pre_tokenizer.pre_tokenize_str(normal) if self._pre_tokenizer else [(normal, None)]:
                words.update(_split_before(word, table.word_start))
        for word in words:
            for begin, first in enumerate(word):
                if first in table.ids:
                    found[table.ids[first]] = first
                for end in range(begin + 2, min(len(word), begin + table.longest.get(word[begin : begin + 2], 0)) + 1):
                    piece = word[begin:end]
                    if piece in table.ids:
                        found[table.ids[piece]] = piece
        kept = sorted(found)
        model = models.Unigram(
            [(found[i], table.scores[i]) for i in kept], unk_id=kept.index(table.unk), byte_fallback=False
        )
        tokenizer = Tokenizer(model)
        tokenizer.normalizer = self._normalizer
        tokenizer.pre_tokenizer = self._pre_tokenizer
        tokenizer.add_special_tokens([AddedToken(piece, special=True, normalized=False) for piece in table.specials.values()])
        encoded = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [Encoding([kept[i] for i in e.ids], [tuple(o) for o in e.offsets]) for e in encoded]


def _split_before(word: str, mark: str | None) -> list[str]:
    if not mark or mark not in word[1:]:
        return [word]
    parts = word.split(mark)
    return ([parts[0]] if parts[0] else []) + [mark + part for part in parts[1:]]


def _load_table(model_dir: Path) -> _PieceTable:
    source = model_dir / "tokenizer.json"
    stamp = _stamp(source)
    path = model_dir / TABLE_FILE
    try:
        with path.open("rb") as f:
            data = pickle.load(f)  # written by _write_table below, into the user's own cache
        if data.get("version") == _TABLE_VERSION and data.get("source") == stamp:
            return data["table"]
    except Exception:  # noqa: BLE001 - any unreadable cache (damaged, older layout) is derived again
        pass
    table = _derive_table(source)
    _write_table(path, {"version": _TABLE_VERSION, "source": stamp, "table": table})
    return table


def _stamp(source: Path) -> list[int]:
    info = source.stat()
    return [info.st_size, info.st_mtime_ns]


def _derive_table(source: Path) -> _PieceTable:
    data = json.loads(source.read_text(encoding="utf-8"))
    model = data["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"{source} is not a Unigram tokenizer")
    vocab = model["vocab"]
    specials = {s["id"]: s["content"] for s in data["added_tokens"]}
    longest: dict[str, int] = {}
    for piece, _ in vocab:
        if len(piece) >= 2:
            longest[piece[:2]] = max(longest.get(piece[:2], 0), len(piece))
    inner = {c for piece, _ in vocab for c in piece[1:]}
    word_start = "\u2581" if "\u2581" not in inner else None
    template = dict(data, model=dict(model, vocab=[[p, 0.0] for p in specials.values()], unk_id=list(specials).index(model["unk_id"])))
    return _PieceTable(
        template=json.dumps(template, ensure_ascii=False),
        ids={piece: i for i, (piece, _) in enumerate(vocab)},
        scores=array("d", (score for _, score in vocab)),
        specials=specials,
        unk=model["unk_id"],
        longest=longest,
        word_start=word_start,
    )


def _write_table(path: Path, data: dict[str, Any]) -> None:
    """Best effort, atomic: a cache that cannot be written is derived again next time."""
    try:
        fd, work = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(work, path)
    except OSError:
        try:
            os.unlink(work)
        except (OSError, UnboundLocalError):
            pass
