"""Reader training examples from CMRC 2018, on the project's own passages (index.passages).

For each question:
- a positive: the passage holding the gold answer (one of them, when windows overlap);
- no-answer examples, each with a fixed chance: another passage of the same context without
  the answer, the top BM25 passage of another context (the project's lexical retriever: a
  hard negative), the answer's passage with the answer's sentence removed, or a question of
  another context (an off-topic question);
- a share converted to traditional Chinese with OpenCC (prefix, answer and suffix converted
  apart, so the answer offsets are recomputed exactly);
- questions translated into English by the project (bench/data/cmrc2018/*/questions-en.jsonl)
  over the same Chinese passages: a positive and one negative, a hard one or (half the time)
  the answer's passage with its sentence removed (an on-topic question it cannot answer);
- questions paraphrased by the project (bench/data/cmrc2018/train/questions-paraphrase.jsonl:
  worded as a user who has not read the text would ask, not copying it): a positive and the
  answer's passage with its sentence removed, so that answering does not hinge on copied words;
- questions written by the project that a passage seems to answer but does not
  (bench/data/cmrc2018/*/questions-unanswerable.jsonl: same topic, a fact the passage lacks),
  in Chinese and in English, each a no-answer example over that passage: the on-topic
  questions users ask whose answer is missing (as in SQuAD 2.0), which the other negatives
  only approximate;
- questions that hold no content (bench/data/reader/questions-content-free.jsonl, written by
  the project: greetings, thanks, chit-chat, requests no document answers; and random strings
  of letters or of a passage's characters), each a no-answer example over random passages, and
  English questions of another context over a passage (English off-topic): "hello" and
  off-topic English questions were answered, since the cross-language negatives above are all
  on-topic.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.documents import Document
from index.lexical import LexicalIndex, to_traditional as traditional_text
from index.passages import Passage, Sentence, split_document

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "cmrc2018"
CONTENT_FREE = DATA.parent / "reader" / "questions-content-free.jsonl"
SHARES = {"same_context": 0.3, "hard": 0.35, "removed": 0.25, "off_topic": 0.1}
TRADITIONAL_SHARE = 0.2
ENGLISH_OFF_TOPIC_SHARE = 0.3
PASSAGES_PER_CONTENT_FREE = 4
RANDOM_STRINGS = 250


@dataclass(frozen=True)
class ReaderExample:
    question: str
    passage: str
    answer_start: int
    """Character offsets of the answer in `passage` (half-open); -1, -1 for no answer."""
    answer_end: int
    kind: str
    """positive, same_context, hard, removed, off_topic, unanswerable or content_free."""
    language: str
    """zh (simplified), zh-hant (converted) or en (translated question)."""

    @property
    def answerable(self) -> bool:
        return self.answer_start >= 0


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_split(folder: Path) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, str]]:
    """Contexts by id, questions, and English questions by id (empty when none translated)."""
    contexts = {row["context_id"]: row["context"] for row in _read_jsonl(folder / "contexts.jsonl")}
    questions = _read_jsonl(folder / "questions.jsonl")
    return contexts, questions, load_translations(folder)


def load_translations(folder: Path) -> dict[str, str]:
    """English translations of the questions by id (empty when the split has none)."""
    path = folder / "questions-en.jsonl"
    return {r["id"]: r["question_en"] for r in _read_jsonl(path)} if path.is_file() else {}


def load_paraphrases(folder: Path) -> dict[str, str]:
    """Paraphrased questions by id (empty when the split has none)."""
    path = folder / "questions-paraphrase.jsonl"
    return {r["id"]: r["question_paraphrase"] for r in _read_jsonl(path)} if path.is_file() else {}


@dataclass(frozen=True)
class UnanswerableQuestion:
    """A question about the passage holding the answer of CMRC question `id` (the first
    of the project's passages to hold it) that the passage does not answer."""

    id: str
    question: str
    question_en: str


def load_unanswerable(folder: Path) -> dict[str, UnanswerableQuestion]:
    """The project's unanswerable questions by the id of the CMRC question whose passage
    they are about (empty when the split has none)."""
    path = folder / "questions-unanswerable.jsonl"
    rows = _read_jsonl(path) if path.is_file() else []
    return {r["id"]: UnanswerableQuestion(r["id"], r["question_unanswerable"], r["question_unanswerable_en"]) for r in rows}


def split_context(context_id: str, text: str) -> tuple[list[Sentence], list[Passage]]:
    document = Document(context_id, text, hashlib.sha256(text.encode()).hexdigest(), Path(context_id), "utf-8")
    return split_document(document)


def to_traditional(example: ReaderExample) -> ReaderExample:
    convert = traditional_text
    question = convert(example.question)
    if not example.answerable:
        return ReaderExample(question, convert(example.passage), -1, -1, example.kind, "zh-hant")
    p = example.passage
    before, answer, after = (convert(x) for x in (p[: example.answer_start], p[example.answer_start : example.answer_end], p[example.answer_end :]))
    return ReaderExample(question, before + answer + after, len(before), len(before) + len(answer), example.kind, "zh-hant")


def load_content_free(path: Path) -> list[tuple[str, str]]:
    """(question, language) of the project's content-free questions (empty when no file)."""
    return [(r["question"], r["language"]) for r in _read_jsonl(path)] if path.is_file() else []


def random_strings(rng: random.Random, passages: list[str], count: int) -> list[tuple[str, str]]:
    """Nonsense questions: half random Latin letters, half characters drawn from a passage
    (they share words with the text, yet ask nothing)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    result = []
    for i in range(count):
        if i % 2 == 0:
            result.append(("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))), "en"))
        else:
            chars = [c for c in rng.choice(passages) if "\u4e00" <= c <= "\u9fff"] or ["字"]
            result.append(("".join(rng.choice(chars) for _ in range(rng.randint(2, 8))), "zh"))
    return result


def build_examples(folder: Path, seed: int = 0, content_free: Path | None = None) -> list[ReaderExample]:
    """All examples of one split (deterministic for a seed), shuffled; with `content_free`
    (a questions-content-free.jsonl), its questions and random strings over random passages too."""
    # the English off-topic and content-free examples draw from a generator of their own, so
    # that the other examples stay those that earlier readers were trained and measured on
    extra_rng = random.Random(f"{seed}-abstention")
    rng = random.Random(seed)
    contexts, questions, english = load_split(folder)
    paraphrases = load_paraphrases(folder)
    unanswerable = load_unanswerable(folder)
    split = {cid: split_context(cid, text) for cid, text in contexts.items()}
    flat = [(cid, p) for cid in sorted(split) for p in split[cid][1]]
    lexical = LexicalIndex.build([p.text for _, p in flat])
    examples: list[ReaderExample] = []
    translated = [q for q in questions if q["id"] in english]

    @lru_cache(maxsize=None)  # a question's zh and English negatives may both be "hard"
    def hard_negative(question: str, context_id: str, answer: str) -> str | None:
        for row, _ in lexical.search(question, 10):
            cid, passage = flat[row]
            if cid != context_id and answer not in passage.text:
                return passage.text
        return None

    for q in questions:
        cid, answer, start = q["context_id"], q["answers"][0], q["answer_starts"][0]
        end = start + len(answer)
        sentences, passages = split[cid]
        holding = [p for p in passages if p.start <= start and end <= p.end]
        if not holding or not answer.strip():
            continue
        positive = rng.choice(holding)
        removed = answer_removed(positive, sentences, start, end, answer)
        examples.append(ReaderExample(q["question"], positive.text, start - positive.start, end - positive.start, "positive", "zh"))
        draw = rng.random()
        kind = None
        for name, share in SHARES.items():
            if draw < share:
                kind = name
                break
            draw -= share
        negative = None
        if kind == "same_context":
            others = [p.text for p in passages if answer not in p.text]
            negative = rng.choice(others) if others else None
        elif kind == "hard":
            negative = hard_negative(q["question"], cid, answer)
        elif kind == "removed":
            negative = removed
        elif kind == "off_topic":
            other = rng.choice(questions)
            if other["context_id"] != cid:
                examples.append(ReaderExample(other["question"], positive.text, -1, -1, "off_topic", "zh"))
        if negative:
            examples.append(ReaderExample(q["question"], negative, -1, -1, kind, "zh"))
        if q["id"] in english:
            question_en = english[q["id"]]
            examples.append(ReaderExample(question_en, positive.text, start - positive.start, end - positive.start, "positive", "en"))
            # one negative per positive, as for the Chinese questions: two made the reader
            # refuse most English questions (no-answer beat the best span on 61% of them)
            if rng.random() < 0.5:
                en_kind, en_negative = "removed", removed
            else:
                en_kind, en_negative = "hard", hard_negative(q["question"], cid, answer)
            if en_negative:
                examples.append(ReaderExample(question_en, en_negative, -1, -1, en_kind, "en"))
            if extra_rng.random() < ENGLISH_OFF_TOPIC_SHARE:
                other = extra_rng.choice(translated)
                if other["context_id"] != cid:
                    examples.append(ReaderExample(english[other["id"]], positive.text, -1, -1, "off_topic", "en"))
        if q["id"] in paraphrases:
            paraphrase = paraphrases[q["id"]]
            examples.append(ReaderExample(paraphrase, positive.text, start - positive.start, end - positive.start, "positive", "zh"))
            if removed:
                examples.append(ReaderExample(paraphrase, removed, -1, -1, "removed", "zh"))
        if q["id"] in unanswerable:
            written = unanswerable[q["id"]]
            examples.append(ReaderExample(written.question, holding[0].text, -1, -1, "unanswerable", "zh"))
            examples.append(ReaderExample(written.question_en, holding[0].text, -1, -1, "unanswerable", "en"))
    examples = [to_traditional(e) if e.language == "zh" and rng.random() < TRADITIONAL_SHARE else e for e in examples]
    if content_free is not None:
        texts = [p.text for _, p in flat]
        for question, language in load_content_free(content_free) + random_strings(extra_rng, texts, RANDOM_STRINGS):
            for text in extra_rng.sample(texts, min(PASSAGES_PER_CONTENT_FREE, len(texts))):
                example = ReaderExample(question, text, -1, -1, "content_free", language)
                examples.append(to_traditional(example) if language == "zh" and extra_rng.random() < TRADITIONAL_SHARE else example)
    rng.shuffle(examples)
    return examples


def answer_removed(passage: Passage, sentences: list[Sentence], start: int, end: int, answer: str) -> str | None:
    """The passage without the sentences overlapping the answer's span [start, end) of the
    context; None when nothing is left or the answer still occurs in it."""
    kept = [sentences[i - sentences[0].id] for i in passage.sentence_ids]
    text = "".join(s.text for s in kept if not (s.start < end and start < s.end))
    return text if text and answer not in text else None


def examples_hash(examples: list[ReaderExample]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(asdict(example), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
