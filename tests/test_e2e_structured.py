"""End to end on the real model over Markdown and HTML documents (tests/data/structured):
commands, table rows, sections, lists. Headings and header rows are never quoted. Slow tier."""

from __future__ import annotations

import pytest

from conftest import REPO, evaluate_gold_set
from index.sections import HEADINGS
from qa.gold import load_gold

pytestmark = pytest.mark.model
GOLD = REPO / "tests" / "data" / "structured" / "structured.gold.jsonl"


def test_structured_documents_are_answered_from_their_content(model_cache_dir, monkeypatch):
    monkeypatch.chdir(REPO)  # the gold file names its documents relative to the repository
    answerer, documents, report = evaluate_gold_set(GOLD, model_cache_dir)
    overall = report.overall
    # Measured 0.667 (14 of 21) / 0.800 / R@1 0.952 with the shipped stage 9 reader and the
    # English calibration refitted for pinyin names (2026-12-06). Its 2026-12-05 calibration
    # had one more "hit", a false one: "What is the default number of workers?" (gold "2")
    # was answered with the row "--cache-size 512 MB", which holds a 2; it now abstains,
    # which also takes abstention F1 from 0.800 to 0.667 (one wrongly refused of 21). Since
    # then a gold number no longer counts inside a longer one (qa.metrics.answer_hit); the
    # reading cascade and that change left these figures as they were.
    # Stage 6 answered 16 of 21, the heuristic with the old splitter 15.
    assert overall.hit >= 0.66 and overall.abstention_f1 >= 0.66 and overall.recall_at_1 >= 0.9
    assert overall.citation_validity == 1.0 and overall.wrong_abstention_rate <= 0.05
    structure = {
        document.text[block.start : block.end]
        for document in documents.values() for block in document.blocks if block.kind in (*HEADINGS, "thead")
    }
    for question in load_gold(GOLD):
        answer = answerer.ask(question.question)
        assert not any(c.text in structure for c in answer.citations), (question.question, answer.answer)
