"""Answering: retrieve passages (qa/retrieval.py), read them (a qa/reading Reader: the trained
span reader, or the heuristic scorer kept for comparison), stitch a cited answer
(qa/stitching.py), or abstain. The factory builds the parts; tests inject their own."""

from __future__ import annotations

import time

from index.errors import UsageError
from index.stores import SearchableIndex
from qa.follow_up import resolve_follow_up
from qa.reading.types import Reader
from qa.retrieval import MAX_QUESTION_CHARS, Retriever
from qa.stitching import cite_span, stitch
from qa.text import question_language, writes_traditional
from qa.types import Answer, PassageHit

ABSTENTION_MESSAGES = {"zh": "文中没有找到相关信息。", "zh-hant": "文中沒有找到相關資訊。", "en": "The documents don't say."}


class Answerer:
    """Answers questions from one index: a retriever finds passages, a reader reads them."""

    def __init__(self, index: SearchableIndex, retriever: Retriever, reader: Reader) -> None:
        self.index = index
        self.retriever = retriever
        self.reader = reader

    def ask(self, question: str, top_k: int = 5, context: str | None = None) -> Answer:
        """Answer `question`; `context` is the previous question of a conversation, used when
        this one is a follow-up ("那第二工厂呢？")."""
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise UsageError("the question is empty")
        if top_k < 1:
            raise UsageError("--top-k must be at least 1")
        resolved = resolve_follow_up(question, context)
        query_text = resolved[:MAX_QUESTION_CHARS]
        language = question_language(question)
        query_vector = self.retriever.embed(query_text)
        embedded = time.perf_counter()
        with self.index.reading():
            hits = self.retriever.search(query_text, query_vector, top_k)
            searched = time.perf_counter()
            reading = self.reader.read(query_text, query_vector, hits)
            short = None
            if reading.abstained:
                script = "zh-hant" if language == "zh" and writes_traditional(question) else language
                text, citations = ABSTENTION_MESSAGES[script], ()
            else:
                text, citations = stitch(self.index, reading.sentences)
                if reading.short_answer is not None:
                    short = cite_span(self.index, reading.short_answer, citations)
        finished = time.perf_counter()
        timings = {
            "embed": (embedded - started) * 1000,
            "search": (searched - embedded) * 1000,
            "answer": (finished - searched) * 1000,
            "total": (finished - started) * 1000,
        }
        return Answer(
            question=question,
            answer=text,
            abstained=reading.abstained,
            citations=citations,
            passages=tuple(hits),
            timings_ms={k: round(v, 2) for k, v in timings.items()},
            language=language,
            resolved_question=resolved if resolved != question else None,
            short_answer=short.text if short else None,
            short_answer_citation=short.citation if short else None,
            short_answer_start=short.start if short else None,
            short_answer_end=short.end if short else None,
            answer_probability=None if reading.probability is None else round(reading.probability, 4),
            reader=self.reader.name,
        )

    def retrieve(self, question: str, k: int) -> list[PassageHit]:
        """The k passages that best match the question, best first (no reading)."""
        with self.index.reading():
            return self.retriever.retrieve(question, k)
