"""Runs the real answering pipeline over a gold question set and scores it."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from index.documents import Document
from index.errors import QAError
from qa.answerer import Answerer
from qa.gold import GoldQuestion
from qa.metrics import (
    abstention_scores, answer_hit, cmrc_em, cmrc_f1, mrr_at, percentile, recall_at,
)
from qa.types import Answer

RETRIEVAL_DEPTH = 10
"""Passages retrieved to compute ranks (MRR@10) regardless of the answer's top-k."""
COVERS_MOST = 0.5
"""A passage cut through an evidence string is relevant when it holds this share of it."""


@dataclass(frozen=True)
class QuestionResult:
    id: str
    kind: str
    question: str
    answerable: bool
    expected: tuple[str, ...]
    answer: str
    abstained: bool
    short_answer: str | None
    relevant_rank: int | None
    """1-based rank of the first relevant passage among the top RETRIEVAL_DEPTH (None: none)."""
    retrieval_judged: bool
    """False when relevance cannot be judged: the question names no document and carries no
    evidence. Such questions are left out of recall and MRR, never counted as misses."""
    hit: bool
    citations_valid: bool
    citations_supported: bool | None
    """Whether a cited sentence holds the evidence (or, without evidence, a gold answer);
    None when nothing was cited or the question is unanswerable."""
    em: float
    f1: float
    latency_ms: float

    @property
    def failed(self) -> bool:
        if not self.answerable:
            return not self.abstained
        return not self.hit or not self.citations_valid


@dataclass(frozen=True)
class Scores:
    questions: int
    answerable: int
    retrieval_judged: int
    """Answerable questions whose passage relevance can be judged (the recall denominator)."""
    recall_at_1: float | None
    """None when no question's relevance can be judged (see `retrieval_judged`)."""
    recall_at_3: float | None
    recall_at_5: float | None
    mrr_at_10: float | None
    hit: float
    """Share of answerable questions whose answer contains a gold answer."""
    em: float
    """CMRC EM x 100 of the short answer (0 where none is given)."""
    f1: float
    short_answers: int
    """How many answers carried a short answer."""
    median_answer_chars: float
    citation_validity: float
    citation_support: float
    abstention_precision: float
    abstention_recall: float
    abstention_f1: float
    wrong_abstention_rate: float
    latency_p50_ms: float
    latency_p95_ms: float


@dataclass
class EvaluationReport:
    overall: Scores
    by_kind: dict[str, Scores]
    results: list[QuestionResult]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[QuestionResult]:
        return [r for r in self.results if r.failed]

    def metric(self, name: str) -> float:
        """The overall value of a metric; KeyError for an unknown name, ValueError for one that
        cannot be computed on this gold set."""
        key = METRIC_ALIASES.get(name, name)
        if key not in Scores.__dataclass_fields__:
            raise KeyError(name)
        value = getattr(self.overall, key)
        if value is None:
            raise ValueError(f"{name} cannot be computed: no question names its document or carries evidence")
        return float(value)

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": asdict(self.overall),
            "by_kind": {k: asdict(v) for k, v in self.by_kind.items()},
            "failures": [asdict(r) for r in self.failures],
            "results": [asdict(r) for r in self.results],
            **self.extra,
        }


METRIC_ALIASES = {
    "recall@1": "recall_at_1", "recall@3": "recall_at_3", "recall@5": "recall_at_5",
    "mrr@10": "mrr_at_10", "mrr": "mrr_at_10", "validity": "citation_validity",
    "support": "citation_support",
}


def evaluate(
    answerer: Answerer,
    gold: Sequence[GoldQuestion],
    documents: dict[str, Document],
    top_k: int = 5,
    progress: Callable[[str, float], None] | None = None,
) -> EvaluationReport:
    """Ask every gold question; relevance is judged by evidence spans, or by document when a
    question has no evidence (the CMRC open-corpus rule)."""
    results = []
    for number, item in enumerate(gold, start=1):
        started = time.perf_counter()
        try:
            answer = answerer.ask(item.question, top_k)
        except QAError as error:  # e.g. an empty question in a benchmark file: a failure, not a crash
            answer = Answer(item.question, f"(error: {error})", True, (), ())
        latency = (time.perf_counter() - started) * 1000
        results.append(_score_question(answerer, item, answer, documents, latency))
        if progress:
            progress(f"asking {len(gold)} questions", number / len(gold))
    kinds = sorted({r.kind for r in results})
    return EvaluationReport(
        overall=summarise(results),
        by_kind={kind: summarise([r for r in results if r.kind == kind]) for kind in kinds},
        results=results,
    )


def _score_question(
    answerer: Answerer, item: GoldQuestion, answer: Answer, documents: dict[str, Document], latency: float
) -> QuestionResult:
    evidence_spans = _evidence_spans(item, documents)
    ranked = answerer.retrieve(item.question, RETRIEVAL_DEPTH) if item.question.strip() else []
    relevant_rank = None
    judged = bool(item.evidence or item.doc)
    if item.answerable and judged:
        for rank, hit in enumerate(ranked, start=1):
            if _relevant(hit.doc, hit.start, hit.end, item, evidence_spans):
                relevant_rank = rank
                break
    valid = all(
        c.doc in documents and documents[c.doc].text[c.start : c.end] == c.text for c in answer.citations
    )
    supported = None
    if item.answerable and evidence_spans and answer.citations:
        supported = any(
            _overlap(c.start, c.end, start, end) >= COVERS_MOST * min(c.end - c.start, end - start)
            for c in answer.citations
            for doc, start, end in evidence_spans
            if doc == c.doc
        )
    elif item.answerable and item.answers and answer.citations:
        # Without evidence strings (CMRC), a citation supports the answer when it holds one.
        supported = any(answer_hit(c.text, item.answers) for c in answer.citations)
    short = getattr(answer, "short_answer", None)
    answer_text = "" if answer.abstained else answer.answer
    return QuestionResult(
        id=item.id,
        kind=item.kind,
        question=item.question,
        answerable=item.answerable,
        expected=item.answers,
        answer=answer.answer,
        abstained=answer.abstained,
        short_answer=short,
        relevant_rank=relevant_rank,
        retrieval_judged=judged,
        hit=item.answerable and answer_hit(answer_text, item.answers),
        citations_valid=valid,
        citations_supported=supported,
        em=100 * cmrc_em(short, item.answers) if item.answerable else 0.0,
        f1=100 * cmrc_f1(short, item.answers) if item.answerable else 0.0,
        latency_ms=latency,
    )


def _evidence_spans(item: GoldQuestion, documents: dict[str, Document]) -> list[tuple[str, int, int]]:
    """Where the evidence occurs: in the question's document, or in any document when the
    question names none."""
    spans = []
    searched = [documents[item.doc]] if item.doc in documents else [] if item.doc else list(documents.values())
    for document in searched:
        for evidence in item.evidence:
            start = document.text.find(evidence)
            while start >= 0 and evidence:
                spans.append((document.id, start, start + len(evidence)))
                start = document.text.find(evidence, start + 1)
    return spans


def _relevant(doc: str, start: int, end: int, item: GoldQuestion, spans: list[tuple[str, int, int]]) -> bool:
    if not item.evidence:
        return doc == item.doc
    # Contains the evidence, or most of what of it fits in a passage.
    return any(
        d == doc and _overlap(start, end, s, e) >= COVERS_MOST * min(e - s, end - start)
        for d, s, e in spans
    )


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def summarise(results: Sequence[QuestionResult]) -> Scores:
    answerable = [r for r in results if r.answerable]
    ranks = [r.relevant_rank for r in answerable if r.retrieval_judged]
    answered = [r for r in results if not r.abstained]
    supported = [r.citations_supported for r in answerable if r.citations_supported is not None]
    abstention = abstention_scores([r.answerable for r in results], [r.abstained for r in results])
    latencies = [r.latency_ms for r in results]
    lengths = [len(_strip_markers(r.answer)) for r in answered]
    return Scores(
        questions=len(results),
        answerable=len(answerable),
        retrieval_judged=len(ranks),
        recall_at_1=recall_at(ranks, 1) if ranks else None,
        recall_at_3=recall_at(ranks, 3) if ranks else None,
        recall_at_5=recall_at(ranks, 5) if ranks else None,
        mrr_at_10=mrr_at(ranks, 10) if ranks else None,
        hit=sum(r.hit for r in answerable) / len(answerable) if answerable else 0.0,
        em=statistics.fmean([r.em for r in answerable]) if answerable else 0.0,
        f1=statistics.fmean([r.f1 for r in answerable]) if answerable else 0.0,
        short_answers=sum(1 for r in answerable if r.short_answer is not None),
        median_answer_chars=statistics.median(lengths) if lengths else 0.0,
        citation_validity=sum(r.citations_valid for r in results) / len(results) if results else 1.0,
        citation_support=sum(supported) / len(supported) if supported else 0.0,
        abstention_precision=abstention.precision,
        abstention_recall=abstention.recall,
        abstention_f1=abstention.f1,
        wrong_abstention_rate=abstention.wrong_abstention_rate,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


def _strip_markers(answer: str) -> str:
    return re.sub(r"\[\d+\]", "", answer)
