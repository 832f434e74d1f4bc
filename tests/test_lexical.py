from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeEncoder
from index.documents import load_documents
from index.errors import UsageError
from index.lexical import LexicalIndex, lexical_tokens
from index.build import build_index
from index.store import load_index, save_index
from qa.reading.heuristic.abstention import AbstentionModel
from conftest import make_answerer
from qa.reading.heuristic import AnswerPolicy

OPEN = AnswerPolicy(AbstentionModel.never_abstains())


def test_tokens_fold_width_and_keep_numbers_and_model_names_whole():
    tokens = lexical_tokens("ＳＵ７ Ultra以52.99万元定价")
    assert {"su7", "ultra", "52.99", "万", "万元", "定价"} <= set(tokens)
    assert set(lexical_tokens("52.99万")) <= set(tokens)  # "52.99万" matches "52.99万元"


def test_bm25_ranks_keyword_matches_and_ignores_unknown_words(tmp_path: Path):
    index = LexicalIndex.build(["北京工厂月产能2.5万辆", "第二工厂四月投产", "The factory opens in April"])
    assert [pid for pid, _ in index.search("北京工厂的产能", 3)][0] == 0
    assert index.search("火星 volcano", 3) == []
    index.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25", 3)
    assert again.search("April factory", 3) == index.search("April factory", 3)
    with pytest.raises(ValueError):
        LexicalIndex.load(tmp_path / "bm25", 4)


@pytest.fixture
def index(tmp_path: Path):
    (tmp_path / "a.txt").write_text("北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("明天有小雨。后天转晴。", encoding="utf-8")
    built = build_index(load_documents([tmp_path / "a.txt", tmp_path / "b.txt"]), FakeEncoder())
    save_index(built, tmp_path / "index")
    return load_index(tmp_path / "index")


def test_retrievers_dense_bm25_and_hybrid(index):
    for retriever in ("dense", "bm25", "hybrid"):
        answerer = make_answerer(index, OPEN, retriever)
        hits = answerer.retrieve("第二工厂什么时候投产", 2)
        assert hits and hits[0].doc.endswith("a.txt"), retriever
        assert all(-1 <= h.score <= 1.0001 for h in hits)  # scores stay cosines
    bm25_only = make_answerer(index, OPEN, "bm25")
    assert bm25_only.retrieve("volcano", 2) == []
    assert bm25_only.ask("volcano").abstained
    with pytest.raises(UsageError):
        make_answerer(index, OPEN, "magic")


def test_traditional_and_simplified_chinese_match_word_for_word(tmp_path: Path):
    assert set(lexical_tokens("北京工廠的產能")) == set(lexical_tokens("北京工厂的产能"))
    (tmp_path / "trad.txt").write_text("小米汽車的北京工廠月產能為2.5萬輛。第二工廠將於4月投產。", encoding="utf-8")
    index = build_index(load_documents([tmp_path / "trad.txt"]), FakeEncoder())
    answerer = make_answerer(index, OPEN, "bm25")
    answer = answerer.ask("第二工厂什么时候投产？")
    assert "4月投產" in answer.answer  # quoted as written, found from simplified words


def test_english_questions_over_chinese_documents_skip_bm25_unless_told_not_to(index, monkeypatch):
    from qa.retrieval import Retriever

    asked = []
    search = index.lexical.search
    monkeypatch.setattr(index.lexical, "search", lambda q, k: asked.append(q) or search(q, k))
    routed, fused = Retriever(index, FakeEncoder()), Retriever(index, FakeEncoder(), route_by_language=False)
    assert routed.corpus_language == "zh"
    routed.retrieve("When does the second factory open?", 2)
    assert asked == []
    routed.retrieve("第二工厂什么时候投产", 2)
    fused.retrieve("When does the second factory open?", 2)
    assert asked == ["第二工厂什么时候投产", "When does the second factory open?"]


def test_the_reader_reads_a_question_in_the_script_of_its_passages():
    from qa.text import in_script_of, writes_traditional

    simplified, traditional = "小米汽车的月产能是多少", "小米汽車的月產能是多少"
    assert writes_traditional(traditional) and not writes_traditional(simplified)
    assert not writes_traditional("多少"), "characters both scripts share are not traditional"
    assert in_script_of("小米汽車的產能？", [simplified, "北京工厂"]) == "小米汽车的产能？"
    assert in_script_of("小米汽车的产能？", [traditional]) == "小米汽車的產能？"
    # already in the passages' script, mixed passages, or no Chinese: as asked
    assert in_script_of("什麼樣的樹才可以被砍伐？", [traditional]) == "什麼樣的樹才可以被砍伐？"
    assert in_script_of("小米汽車的產能？", [simplified, traditional]) == "小米汽車的產能？"
    assert in_script_of("What is Xiaomi's capacity?", [simplified]) == "What is Xiaomi's capacity?"
