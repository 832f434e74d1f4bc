"""Answering: retrieve passages, score their sentences, stitch a cited answer or abstain."""

from __future__ import annotations

import math
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass

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
from qa.types import Answer, Citation, PassageHit

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
    ):
        if retriever not in RETRIEVERS:
            raise UsageError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        self.index = index
        self.encoder = encoder
        self.policy = policy or default_policy(index.manifest.model_id)
        self.retriever = retriever
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
        chosen = self._choose_sentences(query_text, query_vector, hits)
        abstained = not chosen or not self.policy.abstention.answerable(
            self.abstention_signal(query_text, query_vector, hits, chosen[0])
        )
        short: dict[str, object] = {}
        if abstained:
            text, citations = ABSTENTION_MESSAGES[language], ()
        else:
            text, citations = self._stitch(chosen)
            short = self._short_answer(query_text, chosen, citations)
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
            **short,
        )

    @staticmethod
    def _short_answer(
        question: str, chosen: list[ScoredSentence], citations: tuple[Citation, ...]
    ) -> dict[str, object]:
        """The short answer inside the best cited sentence that has one, with document offsets
        and its citation."""
        for best in chosen:
            found = find_short_answer(question, best.sentence.text)
            if found is None:
                continue
            citation = next(c for c in citations if c.start == best.sentence.start and c.doc == best.sentence.doc_id)
            return {
                "short_answer": found.text,
                "short_answer_citation": citation.n,
                "short_answer_start": best.sentence.start + found.start,
                "short_answer_end": best.sentence.start + found.end,
            }
        return {}

    def retrieve(self, question: str, k: int) -> list[PassageHit]:
        """The k passages that best match the question, best first (no answering)."""
        question = question.strip()[:MAX_QUESTION_CHARS]
        return self.search_passages(question, self.encoder.encode_queries([question])[0], k)

    def search_passages(self, question: str, query_vector: np.ndarray, k: int) -> list[PassageHit]:
        """Dense, BM25, or both fused by reciprocal rank; each hit carries its cosine."""
        if self.retriever == "dense":
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
