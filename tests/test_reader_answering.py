"""Answering with a reader injected through the seam (a scripted reader: no model)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import FakeEncoder, make_answerer
from index.build import build_index
from index.documents import load_documents
from qa.answerer import ABSTENTION_MESSAGES
from qa.reading.reader import Calibration, SpanReading, load_calibration
from qa.reading.trained import TrainedReader

ARTICLE = (
    "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。一季度累计订单已达12万辆。"
    "公司计划明年在上海新建研发中心。研发中心将雇佣三千名工程师。"
    + "".join(f"第{n}号仓库的货物清单每周更新一次，由物流部门负责核对与归档。" for n in range(1, 12))
)


class ScriptedReader:
    """Finds `answer` (a substring) in every passage that holds it, with a fixed margin."""

    def __init__(self, answer: str, margin: float) -> None:
        self.answer, self.margin = answer, margin
        self.calls: list[int] = []

    def read(self, question, passages, allowed=None):
        self.calls.append(len(passages))
        readings = []
        for text in passages:
            at = text.find(self.answer)
            readings.append(None if at < 0 else SpanReading(at, at + len(self.answer), self.margin, self.margin))
        return readings


@pytest.fixture
def index(tmp_path: Path):
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    return build_index(load_documents([tmp_path / "a.txt"]), FakeEncoder())


def test_span_becomes_the_short_answer_in_its_cited_sentence(index):
    reader = ScriptedReader("2.5万辆", 5.0), Calibration(read_k=2)
    answer = make_answerer(index, reader=TrainedReader(index, *reader)).ask("北京工厂月产能是多少？")
    assert not answer.abstained and answer.reader == "trained"
    assert answer.short_answer == "2.5万辆"
    text = index.documents["a.txt"].text
    assert text[answer.short_answer_start : answer.short_answer_end] == "2.5万辆"
    assert [c.text for c in answer.citations] == ["北京工厂当前月产能2.5万辆。"]
    cited = answer.citations[answer.short_answer_citation - 1]
    assert cited.start <= answer.short_answer_start < answer.short_answer_end <= cited.end
    assert answer.answer_probability == pytest.approx(Calibration().probability(5.0), abs=1e-4)
    assert reader[0].calls == [2]  # read_k passages in one call


def test_a_span_across_two_sentences_cites_both(index):
    reader = ScriptedReader("阶段性投产。一季度", 5.0), Calibration()
    answer = make_answerer(index, reader=TrainedReader(index, *reader)).ask("第二工厂什么时候投产？")
    assert [c.text for c in answer.citations] == ["第二工厂四月起阶段性投产。", "一季度累计订单已达12万辆。"]
    assert answer.short_answer == "阶段性投产。一季度"


def test_no_confident_span_abstains(index):
    reader = ScriptedReader("2.5万辆", -5.0), Calibration(threshold=0.5)
    answer = make_answerer(index, reader=TrainedReader(index, *reader)).ask("北京工厂月产能是多少？")
    assert answer.abstained and answer.citations == () and answer.short_answer is None
    assert answer.answer == ABSTENTION_MESSAGES["zh"]
    assert answer.answer_probability < 0.5


def test_no_span_anywhere_abstains(index):
    reader = TrainedReader(index, ScriptedReader("不存在的内容", 9.0), Calibration())
    answer = make_answerer(index, reader=reader).ask("hello")
    assert answer.abstained and answer.answer == ABSTENTION_MESSAGES["en"]


def test_calibration_probability_is_monotonic_and_bounded():
    calibration = Calibration(scale=0.7, bias=-1.0)
    values = [calibration.probability(m) for m in (-1e9, -10.0, 0.0, 3.0, 50.0)]
    assert values == sorted(values) and values[0] == 0.0 and 0.0 < values[2] < 1.0 and values[-1] <= 1.0


def test_a_question_in_another_language_uses_the_cross_language_calibration(index):
    strict = Calibration(threshold=0.99, read_k=1)
    lenient = Calibration(threshold=0.5, read_k=2)
    calibration = replace(strict, cross_language=lenient)
    scripted = ScriptedReader("2.5万辆", 3.0)
    english = make_answerer(index, reader=TrainedReader(index, scripted, calibration)).ask("What is the monthly capacity of the Beijing plant?")
    assert not english.abstained and english.short_answer == "2.5万辆" and scripted.calls == [2]
    chinese = make_answerer(index, reader=TrainedReader(index, scripted, calibration)).ask("北京工厂月产能是多少？")
    assert chinese.abstained and scripted.calls == [2, 1]


def test_calibration_file_with_a_cross_language_part_loads(tmp_path: Path):
    (tmp_path / "calibration.json").write_text(json.dumps(
        {"scale": 0.5, "bias": 1.0, "threshold": 0.1, "read_k": 4, "trial": {"questions": 3},
         "cross_language": {"scale": 0.4, "bias": 0.2, "threshold": 0.2, "read_k": 8}}), encoding="utf-8")
    calibration = load_calibration(tmp_path)
    assert calibration.read_k == 4 and calibration.cross_language == Calibration(0.4, 0.2, 0.2, 8)
    assert calibration.for_question("en", "zh") is calibration.cross_language
    assert calibration.for_question("zh", "zh") is calibration


def test_the_shipped_cascade_stops_early_only_where_reading_all_would_answer_alike():
    """confident >= threshold > hopeless in both halves of the shipped calibration: stopping
    early answers only what reading all would answer (bench/calibrate_reader.py)."""
    shipped = load_calibration()
    for calibration in (shipped, shipped.cross_language):
        assert 0 < calibration.first_read < calibration.read_k
        assert calibration.confident >= calibration.threshold > calibration.hopeless >= 0


class MarginsByRank:
    """A span at the start of every passage, with the given margin per retrieval rank."""

    def __init__(self, margins: list[float]) -> None:
        self.margins = margins

    def read(self, question, passages, allowed=None):
        return [SpanReading(0, 2, m, m) for m, _ in zip(self.margins, passages)]


@pytest.mark.parametrize("penalty,answering_rank", [(0.0, 1), (1.0, 0)])
def test_rank_penalty_lets_retrieval_order_break_a_near_tie(index, penalty, answering_rank):
    calibration = Calibration(read_k=2, threshold=0.0, second_threshold=1.0, rank_penalty=penalty)
    answer = make_answerer(index, reader=TrainedReader(index, MarginsByRank([5.0, 5.5]), calibration)).ask("北京工厂月产能是多少？")
    assert [c.passage_id for c in answer.citations] == [answer.passages[answering_rank].passage_id]
    assert answer.passages[answering_rank].start == answer.short_answer_start
    assert answer.answer_probability == pytest.approx(calibration.probability([5.0, 5.5][answering_rank]), abs=1e-4)


@pytest.mark.parametrize("margin,confident", [(9.0, True), (1.0, False)])
def test_the_rest_of_read_k_is_read_only_when_the_first_passages_are_not_confident(index, margin, confident):
    calibration = Calibration(read_k=3, first_read=1, confident=0.99, threshold=0.5)
    scripted = ScriptedReader("。", margin)
    answer = make_answerer(index, reader=TrainedReader(index, scripted, calibration)).ask("北京工厂月产能是多少？")
    assert len(answer.passages) >= 2
    assert scripted.calls == ([1] if confident else [1, min(3, len(answer.passages)) - 1])
    assert not answer.abstained and answer.answer_probability == pytest.approx(calibration.probability(margin), abs=1e-4)


def test_a_later_passage_answers_when_the_first_has_no_span(index):
    """The cascade reads on past a first passage without any span, and answers from the rest."""
    calibration = Calibration(read_k=8, first_read=1, confident=0.9, threshold=0.5)
    scripted = ScriptedReader("2.5万辆", 5.0)
    answer = make_answerer(index, reader=TrainedReader(index, scripted, calibration)).ask("第七号仓库的货物清单多久更新？")
    assert answer.passages[0].text.find("2.5万辆") < 0, "the test needs the answer below the first passage"
    assert scripted.calls == [1, min(8, len(answer.passages)) - 1] and answer.short_answer == "2.5万辆"


@pytest.mark.parametrize("hopeless,reads_on", [(0.01, False), (0.0, True)])
def test_a_hopeless_first_passage_abstains_without_reading_on(index, hopeless, reads_on):
    """Below `hopeless` the cascade abstains after the first passages; at 0 it always reads on."""
    calibration = Calibration(read_k=3, first_read=1, confident=0.9, hopeless=hopeless, threshold=0.5)
    scripted = ScriptedReader("。", -8.0)  # p(answer) = sigmoid(-8) = 0.0003
    answer = make_answerer(index, reader=TrainedReader(index, scripted, calibration)).ask("北京工厂月产能是多少？")
    assert answer.abstained and answer.short_answer is None
    assert scripted.calls == ([1, min(3, len(answer.passages)) - 1] if reads_on else [1])


def test_readings_report_shows_each_passage_span_and_probability(index):
    """bench/reader_readings.py: why a question was answered or refused, passage by passage."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from reader_readings import readings_report
    from qa.gold import GoldQuestion

    calibration = Calibration(scale=1.0, bias=0.0, threshold=0.5, read_k=2)
    answerer = make_answerer(index, reader=TrainedReader(index, ScriptedReader("2.5万辆", 2.0), calibration))
    question = GoldQuestion("q1", "北京工厂月产能是多少？", ("2.5万辆",), (), True, "factoid", "a.txt")
    lines = list(readings_report(answerer, [question], passages=3))
    assert lines[0].startswith("q1 [factoid] 北京工厂月产能是多少？") and "read_k 2" in lines[0]
    holding = [line for line in lines[1:] if " * " in line]
    assert len(holding) == 1 and "p 0.881" in holding[0] and "'2.5万辆'" in holding[0]  # sigmoid(2.0)
    assert all("no span may be taken" in line for line in lines[1:] if " * " not in line)
    assert len(lines) == 1 + min(3, len(index.passages))
