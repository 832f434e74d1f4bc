from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FakeEncoder
from index.documents import load_documents
from index.build import build_index
from qa.reading.heuristic.abstention import AbstentionModel
from conftest import make_answerer
from qa.reading.heuristic import AnswerPolicy
from citeqa.cli import app
from qa.evaluate import evaluate
from qa.gold import GoldQuestion

runner = CliRunner()
FACTORY = "北京工厂当前月产能2.5万辆。第二工厂四月起阶段性投产。一季度累计订单已达12万辆。"
WEATHER = "明天北京有小雨，气温十度。后天转晴，风力三级。"


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "factory.txt").write_text(FACTORY, encoding="utf-8")
    (folder / "weather.txt").write_text(WEATHER, encoding="utf-8")
    gold = [
        {"id": "q1", "question": "北京工厂月产能是多少？", "answers": ["2.5万辆"], "evidence": ["北京工厂当前月产能2.5万辆。"],
         "answerable": True, "kind": "factoid", "doc": "docs/factory.txt"},
        {"id": "q2", "question": "后天天气怎样？", "answers": ["转晴"], "evidence": ["后天转晴，风力三级。"],
         "answerable": True, "kind": "factoid", "doc": "docs/weather.txt"},
        {"id": "q3", "question": "工厂有多少工人？", "answers": [], "evidence": [],
         "answerable": False, "kind": "unanswerable", "doc": "docs/factory.txt"},
    ]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold), encoding="utf-8")
    return tmp_path


def test_eval_json_reports_every_metric_overall_and_per_kind(corpus: Path, fake_encoder):
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    overall = data["overall"]
    assert overall["questions"] == 3 and overall["answerable"] == 2
    assert overall["citation_validity"] == 1.0
    for name in ("recall_at_1", "recall_at_3", "recall_at_5", "mrr_at_10", "hit", "em", "f1",
                 "median_answer_chars", "citation_support", "abstention_precision", "abstention_recall",
                 "abstention_f1", "wrong_abstention_rate", "latency_p50_ms", "latency_p95_ms"):
        assert name in overall
    assert set(data["by_kind"]) == {"factoid", "unanswerable"}
    assert overall["recall_at_5"] == 1.0  # two documents, both retrieved within 5
    # the fake encoder never abstains here (no background corpus): q3 is a failure
    assert [f["id"] for f in data["failures"]] == ["q3"]
    assert len(data["results"]) == 3


def test_eval_table_and_fail_under(corpus: Path, fake_encoder):
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--fail-under", "hit=0.5"])
    assert result.exit_code == 0, result.output
    assert "failures (1 of 3)" in result.stdout and "工厂有多少工人？" in result.stdout
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--fail-under", "abstention_f1=0.5"])
    assert result.exit_code == 1
    assert "abstention_f1 0 < 0.5" in result.stderr
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--fail-under", "bogus=1"])
    assert result.exit_code == 2 and "unknown metric" in result.stderr


def test_eval_defaults_to_the_documents_the_gold_file_names(corpus: Path, fake_encoder):
    result = runner.invoke(app, ["eval", "gold.jsonl", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["questions"] == 2


def test_malformed_gold_line_is_a_usage_error(corpus: Path, fake_encoder):
    (corpus / "bad.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", "bad.jsonl", "--docs", "docs"])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.stderr


def test_relevance_when_a_passage_cuts_the_evidence(tmp_path: Path):
    sentences = [f"第{k}句话讲的是一件普通的事情，没有特别之处。" for k in range(12)]
    text = "".join(sentences)
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    documents = load_documents([tmp_path / "long.txt"])
    index = build_index(documents, FakeEncoder(), max_passage_chars=60)
    answerer = make_answerer(index, AnswerPolicy(AbstentionModel.never_abstains()))
    evidence = "".join(sentences[3:8])  # longer than any passage
    gold = [GoldQuestion("e", "第5句话讲的是什么？", ("普通的事情",), (evidence,), True, "why_how", "long.txt")]
    report = evaluate(answerer, gold, {d.id: d for d in documents})
    assert report.results[0].relevant_rank is not None
    gold_far = [GoldQuestion("f", "第5句话讲的是什么？", ("x",), (sentences[11],), True, "factoid", "long.txt")]
    far = evaluate(answerer, gold_far, {d.id: d for d in documents}).results[0]
    assert far.relevant_rank is None or far.relevant_rank > 1


def _rewrite_gold(corpus: Path, change) -> None:
    rows = [json.loads(line) for line in (corpus / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        change(row)
    (corpus / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_evidence_without_a_document_is_found_in_any_document(corpus: Path, fake_encoder):
    _rewrite_gold(corpus, lambda row: row.pop("doc"))
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--json"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.stdout)["overall"]
    assert overall["retrieval_judged"] == 2 and overall["recall_at_5"] == 1.0
    assert overall["citation_support"] == 1.0


def test_recall_that_cannot_be_judged_is_not_a_silent_zero(corpus: Path, fake_encoder):
    def strip(row: dict) -> None:
        row.pop("doc")
        row["evidence"] = []

    _rewrite_gold(corpus, strip)
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--json"])
    overall = json.loads(result.stdout)["overall"]
    assert overall["retrieval_judged"] == 0 and overall["recall_at_5"] is None and overall["mrr_at_10"] is None
    text = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs"]).output
    assert "n/a" in text and "over 0 of 2 answerable questions" in text
    result = runner.invoke(app, ["eval", "gold.jsonl", "--docs", "docs", "--fail-under", "recall@5=0.5"])
    assert result.exit_code == 2 and "cannot be computed" in result.output
