"""Answering: retrieve passages, read them, stitch a cited answer or abstain.

Reading is done by a `PassageReader` (qa/reading/reader.py), the trained span reader, when
one is given (the factory's default); without one, by the heuristic scorer kept here for
comparison (`--reader heuristic`: sentence cosine + lexical weights, slot rules for the short
answer, the logistic abstention model of qa/abstention.py).
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.ann import exact_cosines
from index.encoders import Encoder
from index.errors import UsageError
from index.passages import Sentence
from index.store import PassageIndex
from qa.abstention import AbstentionModel, AbstentionSignal, calibrated_model
from qa.follow_up import resolve_follow_up
from qa.reference import reference_baseline
from qa.settings import RETRIEVERS
from qa.short_answer import expected_type, find_short_answer
from qa.text import lexical_terms, question_language
from qa.types import Answer, Citation, PassageHit, ShortAnswerSpan

if TYPE_CHECKING:
    from qa.reading.reader import PassageReader

ABSTENTION_MESSAGES = {"zh": "文中没有找到相关信息。", "en": "The documents don't say."}
MAX_QUESTION_CHARS = 2000
FUSION_DEPTH = 50
"""How many passages each retriever contributes to reciprocal rank fusion."""
RRF_K = 60


@dataclass(frozen=True)
class AnswerPolicy:
    """How sentences are scored and chosen, and when to abstain (see docs/calibration.md)."""

    abstention: AbstentionModel
    # Sentence scoring and selection, tuned on CMRC trial (bench/tune_selection.py).
    sentence_weight: float = 1.0
    passage_weight: float = 0.0
    lexical_weight: float = 0.2
    """Weight of the IDF-weighted share of the question's terms found in the sentence."""
    max_sentences: int = 3
    sentence_margin: float = 0.05
    """Further sentences join the answer when they score within this of the best one."""


def default_policy(model_id: str) -> AnswerPolicy:
    """The calibrated policy for `model_id` (the default model's when it has none)."""
    return AnswerPolicy(abstention=calibrated_model(model_id))


@dataclass(frozen=True)
class ScoredSentence:
    sentence: Sentence
    passage_id: int
    score: float


class Answerer:
    """Answers questions from one index with one (query) encoder."""

    def __init__(
        self,
        index: PassageIndex,
        encoder: Encoder,
        policy: AnswerPolicy | None = None,
        retriever: str = "hybrid",
        reader: PassageReader | None = None,
    ):
        if retriever not in RETRIEVERS:
            raise UsageError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        self.index = index
        self.encoder = encoder
        self.policy = policy or default_policy(index.manifest.model_id)
        self.retriever = retriever
        self.reader = reader
        sample = index.passages[:: max(1, len(index.passages) // 200)]
        self._corpus_language = (
            "zh" if sum(question_language(p.text) == "zh" for p in sample) * 2 >= max(1, len(sample)) else "en"
        )
        self._sentence_terms = [lexical_terms(s.text) for s in index.sentences]
        document_frequency = Counter(t for terms in self._sentence_terms for t in terms)
        total = max(1, len(index.sentences))
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unseen_idf = math.log(1 + total)

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
        query_vector = self.encoder.encode_queries([query_text])[0]
        embedded = time.perf_counter()
        hits = self.search_passages(query_text, query_vector, top_k)
        searched = time.perf_counter()
        probability = None
        short: ShortAnswerSpan | None = None
        if self.reader is not None:
            chosen, span, probability = self._read(query_text, hits)
            abstained = not chosen
        else:
            chosen = self._choose_sentences(query_text, query_vector, hits)
            abstained = not chosen or not self.policy.abstention.answerable(
                self.abstention_signal(query_text, query_vector, hits, chosen[0])
            )
            span = None
        if abstained:
            text, citations = ABSTENTION_MESSAGES[language], ()
        else:
            text, citations = self._stitch(chosen)
            short = self._short_answer(query_text, chosen, citations) if span is None else self._cite_span(span, citations)
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
            abstained=abstained,
            citations=citations,
            passages=tuple(hits),
            timings_ms={k: round(v, 2) for k, v in timings.items()},
            language=language,
            resolved_question=resolved if resolved != question else None,
            short_answer=short.text if short else None,
            short_answer_citation=short.citation if short else None,
            short_answer_start=short.start if short else None,
            short_answer_end=short.end if short else None,
            answer_probability=None if probability is None else round(probability, 4),
            reader="heuristic" if self.reader is None else "trained",
        )

    def _read(
        self, question: str, hits: list[PassageHit]
    ) -> tuple[list[ScoredSentence], tuple[str, int, int, float] | None, float]:
        """The trained reader over the top passages: the sentence(s) holding the best span,
        and another passage's span sentence when that one is confident too; or nothing when
        no span reaches the calibrated threshold."""
        calibration = self.reader.calibration
        read = hits[: calibration.read_k]
        readings = self.reader.read(question, [h.text for h in read])
        ranked = sorted(((r, h) for r, h in zip(readings, read) if r is not None), key=lambda rh: -rh[0].margin)
        if not ranked:
            return [], None, 0.0
        best, best_hit = ranked[0]
        if best.probability < calibration.threshold:
            return [], None, best.probability
        chosen = self._span_sentences(best_hit, best.start, best.end, best.probability)
        for reading, hit in ranked[1:]:
            if reading.probability < calibration.second_threshold:
                break
            extra = self._span_sentences(hit, reading.start, reading.start + 1, reading.probability)
            if extra and not any(_near_duplicate(extra[0].sentence, c.sentence) for c in chosen):
                chosen.append(extra[0])
                break
        start, end = best_hit.start + best.start, best_hit.start + best.end
        return chosen, (best_hit.doc, start, end, best.probability), best.probability

    def _cite_span(self, span: tuple[str, int, int, float], citations: tuple[Citation, ...]) -> ShortAnswerSpan | None:
        """The reader's span as the short answer, cited by the sentence it starts in."""
        doc, start, end, probability = span
        for citation in citations:
            if citation.doc == doc and citation.start <= start < citation.end:
                text = self.index.documents[doc].text[start:end]
                return ShortAnswerSpan(text, citation.n, start, end, round(probability, 4))
        return None

    def _span_sentences(self, hit: PassageHit, start: int, end: int, score: float) -> list[ScoredSentence]:
        """The sentences of the hit's passage that the span [start, end) (passage offsets) touches."""
        start, end = hit.start + start, hit.start + end
        passage = self.index.passages[hit.passage_id]
        sentences = [self.index.sentences[i] for i in passage.sentence_ids]
        touched = [s for s in sentences if s.start < end and start < s.end]
        return [ScoredSentence(s, hit.passage_id, score) for s in touched]

    @staticmethod
    def _short_answer(
        question: str, chosen: list[ScoredSentence], citations: tuple[Citation, ...]
    ) -> ShortAnswerSpan | None:
        """The short answer inside the best cited sentence that has one, with document offsets
        and its citation."""
        for best in chosen:
            found = find_short_answer(question, best.sentence.text)
            if found is None:
                continue
            citation = next(c for c in citations if c.start == best.sentence.start and c.doc == best.sentence.doc_id)
            return ShortAnswerSpan(found.text, citation.n, best.sentence.start + found.start, best.sentence.start + found.end)
        return None

    def retrieve(self, question: str, k: int) -> list[PassageHit]:
        """The k passages that best match the question, best first (no answering)."""
        question = question.strip()[:MAX_QUESTION_CHARS]
        return self.search_passages(question, self.encoder.encode_queries([question])[0], k)

    def search_passages(self, question: str, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Dense, BM25, or both fused by reciprocal rank; each hit carries its cosine."""
        lexical_useful = not (question_language(question) == "en" and self._corpus_language == "zh")
        if self.retriever == "dense" or (self.retriever == "hybrid" and not lexical_useful):
            # An English question has no words in common with Chinese passages: BM25 would
            # only add noise to the fusion (bench/cmrc_eval.py --english measures it).
            return [self.passage_hit(pid, score) for pid, score in self.index.search(query_vector, k)]
        depth = max(k, FUSION_DEPTH)
        rankings = [[pid for pid, _ in self.index.lexical.search(question, depth)]]
        if self.retriever == "hybrid":
            rankings.append([pid for pid, _ in self.index.search(query_vector, depth)])
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, pid in enumerate(ranking):
                fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank + 1)
        chosen = sorted(fused, key=lambda pid: -fused[pid])[:k]
        cosines = self.index.passage_cosines(chosen, query_vector)
        return [self.passage_hit(pid, float(score)) for pid, score in zip(chosen, cosines)]

    def passage_hit(self, passage_id: int, score: float) -> PassageHit:
        passage = self.index.passages[passage_id]
        return PassageHit(passage_id, passage.doc_id, passage.start, passage.end, score, passage.text)

    def abstention_signal(
        self, question: str, query_vector: np.ndarray, hits: list[PassageHit], best: ScoredSentence
    ) -> AbstentionSignal:
        """The signals for `hits` and the best sentence chosen from them."""
        passage = self.index.passages[best.passage_id]
        passage_terms = set().union(*(self._sentence_terms[i] for i in passage.sentence_ids))
        weights = self._term_weights(question)
        sentence_id = best.sentence.id
        typed = expected_type(question) in ("number", "time")
        short = find_short_answer(question, best.sentence.text)
        return AbstentionSignal(
            margin=max(h.score for h in hits) - reference_baseline(self.index.reference_vectors, query_vector),
            passage_coverage=self._coverage(weights, passage_terms),
            sentence_cosine=float(exact_cosines(self.index.sentence_vectors, [sentence_id], query_vector)[0]),
            sentence_coverage=self._coverage(weights, self._sentence_terms[sentence_id]),
            typed_span_missing=float(typed and short is None),
            short_answer_found=float(short is not None),
            same_script=question_language(question) == question_language(passage.text),
        )

    def _term_weights(self, question: str) -> dict[str, float]:
        return {t: self._idf.get(t, self._unseen_idf) for t in lexical_terms(question)}

    @staticmethod
    def _coverage(weights: dict[str, float], terms: set[str]) -> float:
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in terms) / total if total > 0 else 0.0

    def sentence_features(
        self, question: str, query_vector: np.ndarray, hits: list[PassageHit]
    ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Candidates (sentence id, passage id): every sentence of the retrieved passages once,
        credited to the best passage holding it; and their features, one row each:
        [cosine with the question, that passage's cosine, lexical coverage of the question]."""
        best_passage: dict[int, tuple[int, float]] = {}
        for hit in hits:
            for sentence_id in self.index.passages[hit.passage_id].sentence_ids:
                if sentence_id not in best_passage or best_passage[sentence_id][1] < hit.score:
                    best_passage[sentence_id] = (hit.passage_id, hit.score)
        ids = list(best_passage)
        features = np.zeros((len(ids), 3), dtype=np.float32)
        if ids:
            features[:, 0] = exact_cosines(self.index.sentence_vectors, ids, query_vector)
            weights = self._term_weights(question)
            for row, sentence_id in enumerate(ids):
                features[row, 1] = best_passage[sentence_id][1]
                features[row, 2] = self._coverage(weights, self._sentence_terms[sentence_id])
        return [(i, best_passage[i][0]) for i in ids], features

    def score_sentences(
        self, question: str, query_vector: np.ndarray, hits: list[PassageHit]
    ) -> list[ScoredSentence]:
        """Every sentence of the retrieved passages, scored, best first."""
        candidates, features = self.sentence_features(question, query_vector, hits)
        policy = self.policy
        scores = features @ np.array([policy.sentence_weight, policy.passage_weight, policy.lexical_weight], dtype=np.float32)
        scored = [
            ScoredSentence(self.index.sentences[sentence_id], passage_id, float(score))
            for (sentence_id, passage_id), score in zip(candidates, scores)
        ]
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def _choose_sentences(
        self, question: str, query_vector: np.ndarray, hits: list[PassageHit]
    ) -> list[ScoredSentence]:
        scored = self.score_sentences(question, query_vector, hits)
        if not scored:
            return []
        best = scored[0].score
        chosen: list[ScoredSentence] = []
        for candidate in scored:
            if len(chosen) >= self.policy.max_sentences or candidate.score < best - self.policy.sentence_margin:
                break
            if not any(_near_duplicate(candidate.sentence, c.sentence) for c in chosen):
                chosen.append(candidate)
        return chosen

    def _stitch(self, chosen: list[ScoredSentence]) -> tuple[str, tuple[Citation, ...]]:
        """Chosen sentences in document order (documents by their best sentence), each cited."""
        doc_rank = {}
        for item in chosen:
            doc_rank.setdefault(item.sentence.doc_id, len(doc_rank))
        ordered = sorted(chosen, key=lambda s: (doc_rank[s.sentence.doc_id], s.sentence.start))
        citations = []
        parts = []
        for n, item in enumerate(ordered, start=1):
            sentence = item.sentence
            document = self.index.documents[sentence.doc_id]
            source = document.source_span(sentence.start, sentence.end) or (None, None)
            lines = document.line_span(sentence.start, sentence.end) or (None, None)
            citations.append(
                Citation(n, sentence.doc_id, sentence.start, sentence.end, sentence.text,
                         item.passage_id, round(item.score, 4),
                         source_start=source[0], source_end=source[1],
                         line_start=lines[0], line_end=lines[1],
                         page=document.page_at(sentence.start))
            )
            parts.append(f"{sentence.text}[{n}]")
        separator = "" if all(question_language(p) == "zh" for p in parts) else " "
        return separator.join(parts), tuple(citations)


def _near_duplicate(a: Sentence, b: Sentence) -> bool:
    """The same span, overlapping spans, or the same words (a repeated sentence)."""
    if a.doc_id == b.doc_id and a.start < b.end and b.start < a.end:
        return True
    return _comparable(a.text) == _comparable(b.text)


def _comparable(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
