"""The reader's tokenizer over a cut vocabulary gives the full tokenizer's ids and offsets, and
its piece table is derived again when missing, damaged or stale."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from index.default_model import build_default_model
from index.encoders import default_model_dir
from qa.reading.spans import load_tokenizer
from qa.reading.subset_tokenizer import TABLE_FILE, SubsetTokenizer
from qa.reading.training_data import DATA

REPO = Path(__file__).resolve().parent.parent

AWKWARD = [
    "",
    "   ",
    "a\tb\n\nc  d",
    "<s> is text here, </s> too",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３！",
    "e\u0301te\u0301 cafe\u0301 n\u0303",  # combining marks
    "👩‍👩‍👧 family, 🇨🇳 flag, ✈️",
    "\U00020000\U0002a6d6 rare CJK, \ue000 private use, \u200b zero width",
    "한국어 텍스트와 日本語のテキスト",
    "Xiaomi SU7 Ultra 的定价是 52.99 万元（约 7.3 万美元）。",
    "繁體中文：臺灣的經濟發展",
    "ﬁ ligature, Ⅻ numeral, ㎞ unit, ½ fraction",
    "The quick brown fox jumps over the lazy dog; the dog, unimpressed, sleeps.  Then the fox "
    "leaves the doghouse (and the dogs) behind: re-indexing, pre-tokenisation, non-breaking\u00a0spaces.",
]


def _same(subset: SubsetTokenizer, full, texts: list[str]) -> None:
    for begin in range(0, len(texts), 4):
        batch = texts[begin : begin + 4]
        for text, cut, whole in zip(batch, subset.encode_batch(batch), full.encode_batch(batch, add_special_tokens=False)):
            assert cut.ids == whole.ids, text
            assert cut.offsets == [tuple(o) for o in whole.offsets], text


@pytest.mark.model
def test_cut_vocabulary_tokenizes_like_the_full_one(model_cache_dir: Path):
    model_dir = build_default_model(default_model_dir(model_cache_dir))
    subset, full = SubsetTokenizer(model_dir), load_tokenizer(model_dir)
    rows = lambda name: [json.loads(line) for line in (DATA / "trial" / name).read_text(encoding="utf-8").splitlines()]
    texts = [r["context"] for r in rows("contexts.jsonl")][:120] + [r["question"] for r in rows("questions.jsonl")][:400]
    texts += [line for path in sorted((REPO / "seeds").iterdir()) for line in path.read_text(encoding="utf-8").splitlines()]
    _same(subset, full, texts + AWKWARD)
    _same(subset, full, ["".join(AWKWARD)])  # one batch mixing everything


def _tiny_tokenizer(directory: Path, pieces: list[tuple[str, float]]) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tokenizer = Tokenizer(models.Unigram([(s, 0.0) for s in specials] + pieces, unk_id=3, byte_fallback=False))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.add_special_tokens(specials)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))


def test_piece_table_is_derived_again_when_damaged_or_stale(tmp_path: Path):
    from tokenizers import Tokenizer

    pieces = [("▁", -2.0), ("a", -3.0), ("b", -3.0), ("▁ab", -1.0), ("ab", -2.5), ("▁a", -2.0), ("c", -4.0)]
    _tiny_tokenizer(tmp_path, pieces)
    full = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    _same(SubsetTokenizer(tmp_path), full, ["AB ab cab", "x ab"])
    assert (tmp_path / TABLE_FILE).is_file()

    (tmp_path / TABLE_FILE).write_bytes(b"not a pickle")
    _same(SubsetTokenizer(tmp_path), full, ["abc"])

    # a new tokenizer.json (a rebuilt model directory) must not be read with the old table
    _tiny_tokenizer(tmp_path, [("▁", -2.0), ("a", -3.0), ("b", -3.0), ("abc", -0.5), ("c", -4.0)])
    stat = (tmp_path / "tokenizer.json").stat()
    os.utime(tmp_path / "tokenizer.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    rebuilt = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert SubsetTokenizer(tmp_path).encode_batch(["abc"])[0].ids == rebuilt.encode("abc", add_special_tokens=False).ids


def test_a_table_that_cannot_be_written_is_derived_each_time(tmp_path: Path):
    _tiny_tokenizer(tmp_path, [("▁", -2.0), ("a", -3.0), ("b", -3.0)])
    (tmp_path / TABLE_FILE).mkdir()  # neither readable nor replaceable as a file
    assert SubsetTokenizer(tmp_path).encode_batch(["ab"])[0].ids == [4, 5, 6]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
