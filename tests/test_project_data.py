"""The data the project wrote beside CMRC 2018 (translations, paraphrases, unanswerable
questions): every line names a real question, is attributed, and is in the right language."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "bench" / "data" / "cmrc2018"
CJK = re.compile(r"[\u4e00-\u9fff]")
SPLITS = ("train", "trial")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _questions(split: str) -> dict[str, dict]:
    return {q["id"]: q for q in _rows(DATA / split / "questions.jsonl")}


@pytest.mark.parametrize("split", SPLITS)
def test_translations_are_english_attributed_and_name_real_questions(split: str):
    questions = _questions(split)
    rows = _rows(DATA / split / "questions-en.jsonl")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert r["id"] in questions and r["translated_by"] == "citeqa"
        assert r["question_en"].strip() and not CJK.search(r["question_en"]), r


@pytest.mark.parametrize("split", SPLITS)
def test_paraphrases_are_chinese_attributed_and_new_wordings(split: str):
    questions = _questions(split)
    rows = _rows(DATA / split / "questions-paraphrase.jsonl")
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["id"] in questions and r["written_by"] == "citeqa"
        assert CJK.search(r["question_paraphrase"]) and r["question_paraphrase"] != questions[r["id"]]["question"], r


@pytest.mark.parametrize("split", SPLITS)
def test_unanswerable_questions_are_in_both_languages_and_one_per_train_context(split: str):
    questions = _questions(split)
    rows = _rows(DATA / split / "questions-unanswerable.jsonl")
    assert len({r["id"] for r in rows}) == len(rows)
    if split == "train":  # trial's are per question, written against the whole article
        contexts = [questions[r["id"]]["context_id"] for r in rows]
        assert len(contexts) == len(set(contexts))
    for r in rows:
        assert r["written_by"] == "citeqa"
        assert CJK.search(r["question_unanswerable"]) and r["question_unanswerable"] != questions[r["id"]]["question"], r
        assert r["question_unanswerable_en"].strip() and not CJK.search(r["question_unanswerable_en"]), r


def test_traditional_trial_corpus_keeps_every_gold_answer_in_its_context():
    """`bench/cmrc_eval.py --traditional` converts contexts and answers separately (OpenCC
    s2twp, which also rewrites words); its scores mean something only while every converted
    answer is still found in its converted context."""
    import sys

    sys.path.insert(0, str(DATA.parents[1]))
    from cmrc import load_contexts, load_questions, taiwan_traditional, traditional_document

    convert = taiwan_traditional
    contexts = {d.id: traditional_document(d) for d in load_contexts("trial")}
    assert all(d.sha256 == hashlib.sha256(d.text.encode()).hexdigest() for d in contexts.values())
    assert convert("软件的内存") == "軟體的記憶體"
    missing = [q.id for q in load_questions("trial") if not any(convert(a) in contexts[q.context_id].text for a in q.answers)]
    assert missing == []


def test_a_traditional_copy_of_the_seed_gold_set_converts_only_its_chinese_questions(tmp_path: Path):
    import sys

    sys.path.insert(0, str(DATA.parents[1]))
    from traditional_gold import convert_gold

    from qa.text import writes_traditional

    source = next((DATA.parents[2] / "seeds").glob("*.gold.jsonl"))
    converted = convert_gold(source, tmp_path / "gold.jsonl")
    before, after = _rows(source), _rows(tmp_path / "gold.jsonl")
    assert converted == sum(r["lang"] == "zh" for r in before) > 0
    for old, new in zip(before, after, strict=True):
        assert {k: v for k, v in new.items() if k != "question"} == {k: v for k, v in old.items() if k != "question"}
        if old["lang"] != "zh":
            assert new["question"] == old["question"]
    assert sum(writes_traditional(r["question"]) for r in after) > sum(writes_traditional(r["question"]) for r in before)


def test_traditional_corpus_only_keeps_the_questions_as_published():
    """`--traditional corpus` asks simplified questions over a traditional corpus: the answers
    follow the corpus into traditional characters, the questions do not."""
    import sys

    sys.path.insert(0, str(DATA.parents[1]))
    from cmrc import load_contexts, taiwan_traditional
    from cmrc_eval import gold_set

    contexts = {d.id for d in load_contexts("trial")}
    published = gold_set("trial", contexts, "cmrc", None, True)
    corpus_only = gold_set("trial", contexts, "cmrc", "corpus", True)
    converted = gold_set("trial", contexts, "cmrc", "all", True)
    assert [g.id for g in published] == [g.id for g in corpus_only] == [g.id for g in converted]
    assert any(not g.answerable for g in published)
    assert [g.question for g in corpus_only] == [g.question for g in published]
    assert [g.answers for g in corpus_only] == [g.answers for g in converted]
    assert [g.question for g in converted] == [taiwan_traditional(g.question) for g in published]
    assert sum(g.question != c.question for g, c in zip(published, converted)) > len(published) // 2
