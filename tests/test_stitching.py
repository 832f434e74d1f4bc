"""Stitching cited sentences into one answer (qa.stitching.stitch)."""

from __future__ import annotations

from pathlib import Path

from conftest import FakeEncoder
from index.build import build_index
from index.documents import load_documents
from qa.reading.types import ScoredSentence
from qa.stitching import stitch

ARTICLE = "文 / 大力财经\n作者 / 魏力\n小米实现13.69万辆交付。第二工厂四月起投产。"


def _index(tmp_path: Path):
    (tmp_path / "article.txt").write_text(ARTICLE, encoding="utf-8")
    return build_index(load_documents([tmp_path / "article.txt"]), FakeEncoder())


def _scored(index, *texts: str) -> list[ScoredSentence]:
    sentences = [index.sentence(i) for i in range(index.manifest.sentence_count)]
    return [ScoredSentence(next(s for s in sentences if s.text == t), 0, 1.0) for t in texts]


def test_sentences_of_one_paragraph_join_and_a_line_break_is_kept(tmp_path: Path):
    index = _index(tmp_path)
    text, citations = stitch(index, _scored(index, "第二工厂四月起投产。", "作者 / 魏力", "小米实现13.69万辆交付。"))
    assert text == "作者 / 魏力[1]\n小米实现13.69万辆交付。[2]第二工厂四月起投产。[3]"
    assert [c.text for c in citations] == ["作者 / 魏力", "小米实现13.69万辆交付。", "第二工厂四月起投产。"]
