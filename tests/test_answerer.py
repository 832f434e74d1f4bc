from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeEncoder
from index.documents import load_documents
from index.errors import UsageError
from index.build import build_index
from qa.reading.heuristic.abstention import AbstentionModel
from conftest import make_answerer
from qa.answerer import ABSTENTION_MESSAGES, Answerer
from qa.reading.heuristic import AnswerPolicy

ARTICLE = (
    "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。一季度累计订单已达12万辆。\n"
    "北京工厂当前月产能2.5万辆。\n"
    "The second factory starts production in April. Orders reached 120,000 cars."
)


@pytest.fixture
def answerer(tmp_path: Path) -> Answerer:
    (tmp_path / "article.txt").write_text(ARTICLE, encoding="utf-8")
    index = build_index(load_documents([tmp_path / "article.txt"]), FakeEncoder())
    return make_answerer(index, AnswerPolicy(AbstentionModel.never_abstains()))


def test_answer_sentences_are_cited_and_quote_the_document(answerer: Answerer):
    answer = answerer.ask("北京工厂月产能是多少？")
    assert not answer.abstained
    assert "2.5万辆" in answer.answer
    text = answerer.index.documents["article.txt"].text
    for citation in answer.citations:
        assert text[citation.start : citation.end] == citation.text
        assert f"{citation.text}[{citation.n}]" in answer.answer
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    starts = [c.start for c in answer.citations]
    assert starts == sorted(starts)
    assert set(answer.timings_ms) == {"embed", "search", "answer", "total"}


def test_repeated_sentences_are_cited_once(answerer: Answerer):
    answer = answerer.ask("北京工厂当前月产能2.5万辆")
    quoted = [c.text for c in answer.citations]
    assert quoted.count("北京工厂当前月产能2.5万辆。") == 1


def test_weak_evidence_abstains_in_the_question_language(answerer: Answerer):
    strict = make_answerer(answerer.index, AnswerPolicy(AbstentionModel.always_abstains()))
    chinese = strict.ask("火星上有多少座火山？")
    english = strict.ask("How many volcanoes are on Mars?")
    assert chinese.abstained and chinese.answer == ABSTENTION_MESSAGES["zh"] and chinese.citations == ()
    assert english.abstained and english.answer == ABSTENTION_MESSAGES["en"]
    assert chinese.passages  # what was searched is still reported
    traditional = strict.ask("火星上有幾座火山？這篇文章說了嗎")
    assert traditional.answer == ABSTENTION_MESSAGES["zh-hant"] and traditional.language == "zh"


def test_english_question_gets_english_sentence(answerer: Answerer):
    answer = answerer.ask("When does the second factory start production?")
    assert "April" in answer.answer and answer.language == "en"


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_a_usage_error(answerer: Answerer, question: str):
    with pytest.raises(UsageError):
        answerer.ask(question)


def test_json_contract(answerer: Answerer):
    data = answerer.ask("订单有多少？").to_json()
    assert {"question", "answer", "abstained", "citations", "passages", "timings_ms"} <= set(data)
    assert set(data["citations"][0]) >= {"n", "doc", "start", "end", "text", "passage_id", "score"}
    assert set(data["passages"][0]) >= {"passage_id", "doc", "start", "end", "score"}


def test_short_answer_lies_inside_its_citation_and_quotes_the_document(answerer: Answerer):
    answer = answerer.ask("北京工厂当前月产能是多少？")
    assert answer.short_answer == "2.5万辆"
    text = answerer.index.documents["article.txt"].text
    assert text[answer.short_answer_start : answer.short_answer_end] == answer.short_answer
    citation = next(c for c in answer.citations if c.n == answer.short_answer_citation)
    assert citation.start <= answer.short_answer_start < answer.short_answer_end <= citation.end
    assert answer.to_json()["short_answer"] == "2.5万辆"
    assert answerer.ask("火星上有什么？").short_answer is None or not answerer.ask("火星上有什么？").abstained
