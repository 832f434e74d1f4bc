"""Sanity checks for the hand-written gold question set of the seed article.

Fast, no model: it only checks that the gold file is well formed and that every answer and
evidence span really is in the document (the answerer is extractive, so gold answers must be
spans of the text).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "seeds" / "xiaomi-lei-jun-traffic-carmaking.gold.jsonl"

KINDS = {"factoid", "paraphrase", "why_how", "english", "unanswerable"}
LANGS = {"zh", "en"}
MIN_PER_KIND = {
    "factoid": 27,
    "paraphrase": 13,
    "why_how": 7,
    "english": 11,
    "unanswerable": 13,
}
MIN_UNANSWERABLE_EN = 3
MIN_TOTAL = 71
REQUIRED = {
    "id": str,
    "question": str,
    "answers": list,
    "evidence": list,
    "answerable": bool,
    "kind": str,
    "lang": str,
    "doc": str,
}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _load() -> list[dict]:
    records = []
    with GOLD.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported as failure
                pytest.fail(f"{GOLD.name}:{lineno}: invalid JSON: {exc}")
    return records


def _doc_text(rel: str) -> str:
    return (REPO / rel).read_text(encoding="utf-8").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    assert GOLD.is_file(), f"missing gold file {GOLD}"
    return _load()


def test_parses_and_is_not_empty(records):
    assert len(records) >= MIN_TOTAL


def test_required_fields_and_types(records):
    for rec in records:
        for field, typ in REQUIRED.items():
            assert field in rec, f"{rec.get('id')}: missing {field}"
            assert isinstance(rec[field], typ), f"{rec.get('id')}: {field} is not {typ.__name__}"
        assert rec["question"].strip(), f"{rec['id']}: empty question"
        assert all(isinstance(a, str) and a.strip() for a in rec["answers"]), rec["id"]
        assert all(isinstance(e, str) and e.strip() for e in rec["evidence"]), rec["id"]


def test_ids_unique_and_in_order(records):
    ids = [rec["id"] for rec in records]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert ids == [f"seed-{i:03d}" for i in range(1, len(ids) + 1)]


def test_questions_unique(records):
    questions = [re.sub(r"\s+", "", rec["question"]).lower() for rec in records]
    duplicates = [q for q, n in Counter(questions).items() if n > 1]
    assert not duplicates, duplicates


def test_kind_and_lang_values(records):
    for rec in records:
        assert rec["kind"] in KINDS, f"{rec['id']}: bad kind {rec['kind']!r}"
        assert rec["lang"] in LANGS, f"{rec['id']}: bad lang {rec['lang']!r}"
        assert rec["answerable"] == (rec["kind"] != "unanswerable"), rec["id"]


def test_doc_exists(records):
    for rec in records:
        assert (REPO / rec["doc"]).is_file(), f"{rec['id']}: doc {rec['doc']} not found"


def test_answerable_spans_are_in_document(records):
    for rec in records:
        if not rec["answerable"]:
            continue
        text = _doc_text(rec["doc"])
        assert rec["answers"], f"{rec['id']}: answerable but no answers"
        assert 1 <= len(rec["evidence"]) <= 2, f"{rec['id']}: needs 1-2 evidence strings"
        for ev in rec["evidence"]:
            assert ev in text, f"{rec['id']}: evidence not in document: {ev!r}"
        for answer in rec["answers"]:
            assert answer in text, f"{rec['id']}: answer not in document: {answer!r}"
            assert any(answer in ev for ev in rec["evidence"]), (
                f"{rec['id']}: answer {answer!r} not in any evidence string"
            )


def test_unanswerable_have_no_spans(records):
    for rec in records:
        if rec["answerable"]:
            continue
        assert rec["answers"] == [], rec["id"]
        assert rec["evidence"] == [], rec["id"]


def test_minimum_counts(records):
    counts = Counter(rec["kind"] for rec in records)
    for kind, minimum in MIN_PER_KIND.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"
    unanswerable_en = sum(
        1 for rec in records if rec["kind"] == "unanswerable" and rec["lang"] == "en"
    )
    assert unanswerable_en >= MIN_UNANSWERABLE_EN


def test_english_questions_are_english(records):
    for rec in records:
        if rec["kind"] == "english" or rec["lang"] == "en":
            assert rec["lang"] == "en", rec["id"]
            assert not CJK.search(rec["question"]), f"{rec['id']}: CJK in English question"
        else:
            assert CJK.search(rec["question"]), f"{rec['id']}: zh question without CJK"


@pytest.mark.parametrize("gold_path", ["tests/data/structured/structured.gold.jsonl", "tests/data/english/english.gold.jsonl"])
def test_every_answer_and_evidence_of_the_other_gold_sets_is_in_its_converted_document(gold_path, monkeypatch):
    """The model-tier sets over Markdown, HTML and English documents: their answers must be
    spans of the text the bot reads (after Markdown and HTML conversion), or a miss would be
    the gold's fault."""
    from index.documents import load_documents
    from qa.gold import load_gold

    monkeypatch.chdir(REPO)  # documents are named relative to the repository
    questions = load_gold(REPO / gold_path)
    documents = {d.id: d for d in load_documents(sorted({REPO / q.doc for q in questions}), 10**7)}
    assert any(not q.answerable for q in questions) and any(q.answerable for q in questions)
    for q in questions:
        text = documents[q.doc].text
        assert q.answerable == bool(q.answers), q.id
        assert all(a in text for a in q.answers), q.id
        assert all(e in text for e in q.evidence), q.id
