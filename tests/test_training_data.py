"""Reader training examples (qa.reading.training_data) on a small split written here: every
answerable example points at its answer exactly, no-answer examples do not hold it, and the
project's English translations and paraphrases each get a positive and an on-topic negative;
the project's unanswerable questions are no-answer examples over the passage they are about."""

from __future__ import annotations

import json
from pathlib import Path

from qa.reading.training_data import build_examples, split_context

CONTEXTS = {
    "C1": "长城位于中国北部。它始建于春秋战国时期，全长两万多公里。明代重修了大部分城墙。",
    "C2": "黄山在安徽省南部。黄山以奇松、怪石、云海和温泉闻名。每年有数百万游客。",
    "C3": "西湖是杭州的一个淡水湖。苏堤由苏轼主持修建。湖边有许多茶园。",
}
QUESTIONS = [
    ("C1_Q0", "C1", "长城始建于什么时期？", "春秋战国时期"),
    ("C2_Q0", "C2", "黄山在哪个省？", "安徽省"),
    ("C3_Q0", "C3", "苏堤由谁主持修建？", "苏轼"),
]


def _write_split(folder: Path, english: dict[str, str], paraphrases: dict[str, str], unanswerable: dict[str, tuple[str, str]] | None = None) -> None:
    folder.mkdir()
    lines = [json.dumps({"context_id": cid, "context": text}, ensure_ascii=False) for cid, text in CONTEXTS.items()]
    (folder / "contexts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = []
    for qid, cid, question, answer in QUESTIONS:
        start = CONTEXTS[cid].index(answer)
        rows.append(json.dumps({"id": qid, "context_id": cid, "question": question, "answers": [answer], "answer_starts": [start]}, ensure_ascii=False))
    (folder / "questions.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if english:
        rows = [json.dumps({"id": k, "question_en": v, "translated_by": "citeqa"}) for k, v in english.items()]
        (folder / "questions-en.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if paraphrases:
        rows = [json.dumps({"id": k, "question_paraphrase": v, "written_by": "citeqa"}, ensure_ascii=False) for k, v in paraphrases.items()]
        (folder / "questions-paraphrase.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if unanswerable:
        rows = [json.dumps({"id": k, "question_unanswerable": zh, "question_unanswerable_en": en, "written_by": "citeqa"}, ensure_ascii=False) for k, (zh, en) in unanswerable.items()]
        (folder / "questions-unanswerable.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_translations_and_paraphrases_get_a_positive_and_an_on_topic_negative(tmp_path: Path):
    english = {"C1_Q0": "When did construction of the Great Wall begin?"}
    paraphrases = {"C3_Q0": "苏堤是谁负责建造的？"}
    _write_split(tmp_path / "split", english, paraphrases)
    examples = build_examples(tmp_path / "split", seed=0)
    answers = {question: answer for _, _, question, answer in QUESTIONS}
    answers[english["C1_Q0"]] = "春秋战国时期"
    answers[paraphrases["C3_Q0"]] = "苏轼"

    for example in examples:
        if example.answerable:
            # zh-hant examples are converted: compare in simplified terms through the length only
            span = example.passage[example.answer_start : example.answer_end]
            assert len(span) == len(answers.get(example.question, span)) and span.strip()
            if example.language != "zh-hant":
                assert span == answers[example.question]

    english_rows = [e for e in examples if e.question == english["C1_Q0"]]
    assert [e.kind for e in english_rows if e.answerable] == ["positive"]
    assert [e.kind for e in english_rows if not e.answerable] in (["removed"], ["hard"])  # one, as for zh
    assert all("春秋战国" not in e.passage for e in english_rows if not e.answerable)
    paraphrase_rows = [e for e in examples if e.question in (paraphrases["C3_Q0"], "蘇堤是誰負責建造的？")]
    assert {(e.kind, e.answerable) for e in paraphrase_rows} == {("positive", True), ("removed", False)}
    assert all("苏轼" not in e.passage and "蘇軾" not in e.passage for e in paraphrase_rows if not e.answerable)

def test_without_rewrites_only_the_chinese_questions_are_used(tmp_path: Path):
    _write_split(tmp_path / "split", {}, {})
    examples = build_examples(tmp_path / "split", seed=0)
    assert {e.language for e in examples} <= {"zh", "zh-hant"}
    assert sum(e.kind == "positive" for e in examples) == len(QUESTIONS)


def test_unanswerable_questions_are_no_answer_examples_over_their_passage(tmp_path: Path):
    unanswerable = {"C2_Q0": ("黄山的最高峰海拔多少米？", "How high is the highest peak of Huangshan?")}
    _write_split(tmp_path / "split", {}, {}, unanswerable)
    examples = build_examples(tmp_path / "split", seed=0)
    rows = [e for e in examples if e.kind == "unanswerable"]
    assert sorted(e.language for e in rows) in (["en", "zh"], ["en", "zh-hant"])
    assert all(not e.answerable and "安徽省" in e.passage for e in rows)
    assert {e.question for e in rows if e.language == "en"} == {unanswerable["C2_Q0"][1]}
    # the other examples are unchanged by the new file: one positive per question, as before
    assert sum(e.kind == "positive" for e in examples) == len(QUESTIONS)


def test_content_free_questions_and_random_strings_are_no_answer_examples_added_to_the_rest(tmp_path: Path):
    english = {"C1_Q0": "When did construction of the Great Wall begin?", "C2_Q0": "Which province is Huangshan in?"}
    _write_split(tmp_path / "split", english, {})
    content_free = tmp_path / "questions-content-free.jsonl"
    content_free.write_text('{"question": "hello", "language": "en"}\n{"question": "谢谢", "language": "zh"}\n', encoding="utf-8")

    plain = build_examples(tmp_path / "split", seed=0)
    examples = build_examples(tmp_path / "split", seed=0, content_free=content_free)

    rows = [e for e in examples if e.kind == "content_free"]
    passages = {p.text for cid, text in CONTEXTS.items() for p in split_context(cid, text)[1]}
    assert rows and all(not e.answerable for e in rows)
    assert all(e.passage in passages for e in rows if e.language != "zh-hant")
    assert {"hello"} <= {e.question for e in rows}
    assert {"谢谢", "謝謝"} & {e.question for e in rows}
    assert len({e.question for e in rows}) > 2  # random strings beside the file's questions
    # adding them leaves the other examples as they were (earlier stages' data is reproducible)
    key = lambda e: (e.question, e.passage, e.answer_start, e.kind, e.language)  # noqa: E731
    assert sorted(map(key, (e for e in examples if e.kind != "content_free"))) == sorted(map(key, plain))


def test_english_off_topic_negatives_ask_another_contexts_question(tmp_path: Path):
    english = {qid: f"English question {qid}?" for qid, *_ in QUESTIONS}
    _write_split(tmp_path / "split", english, {})
    owner = {english[qid]: cid for qid, cid, *_ in QUESTIONS}
    passage_of = {text: cid for cid, text in CONTEXTS.items()}
    off_topic = [e for seed in range(10) for e in build_examples(tmp_path / "split", seed=seed) if e.kind == "off_topic" and e.language == "en"]
    assert off_topic
    for e in off_topic:
        assert not e.answerable
        assert owner[e.question] != next(cid for text, cid in passage_of.items() if e.passage in text)
