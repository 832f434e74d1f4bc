"""End to end on the real model over English documents (tests/data/english: two short
Wikipedia-style articles the project wrote): the reader was trained on Chinese passages only,
yet answers English questions over English text with exact spans, Chinese questions over it
too, and abstains on what the articles do not say. Slow tier."""

from __future__ import annotations

import pytest

from conftest import REPO, evaluate_gold_set

pytestmark = pytest.mark.model
GOLD = REPO / "tests" / "data" / "english" / "english.gold.jsonl"


def test_english_documents_are_read_with_exact_spans_and_abstention(model_cache_dir, monkeypatch):
    monkeypatch.chdir(REPO)  # the gold file names its documents relative to the repository
    answerer, documents, report = evaluate_gold_set(GOLD, model_cache_dir)
    overall, kinds = report.overall, report.by_kind
    # Measured with the shipped stage 9 reader (2026-12-08): hit 0.885 (23 of 26), EM / F1
    # 42.3 / 73.5, abstention F1 0.800 with all 6 unanswerable questions abstained on;
    # factoid 16 of 16, Chinese questions 4 of 4; the 3 misses are paraphrases refused.
    assert overall.hit >= 0.84 and overall.f1 >= 65 and overall.abstention_f1 >= 0.75
    assert kinds["factoid"].hit >= 0.93 and kinds["chinese"].hit >= 0.75
    assert kinds["unanswerable"].abstention_recall >= 0.8
    assert overall.citation_validity == 1.0 and overall.recall_at_5 >= 0.9
    answer = answerer.ask("Who designed the Old Harbour Lighthouse?")
    lighthouse = documents["tests/data/english/lighthouse.md"].text
    assert answer.short_answer == "Margaret Ellison"
    assert lighthouse[answer.short_answer_start : answer.short_answer_end] == "Margaret Ellison"
    citation = next(c for c in answer.citations if c.n == answer.short_answer_citation)
    assert lighthouse[citation.start : citation.end] == citation.text
