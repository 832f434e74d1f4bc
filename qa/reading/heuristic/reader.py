"""HeuristicReader: scores every sentence of the retrieved passages, keeps the best ones,
finds a short answer in them by slot rules and abstains by the calibrated logistic model."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from index.stores import SearchableIndex
from qa.reading.heuristic.abstention import AbstentionModel, AbstentionSignal, calibrated_model
from qa.reading.heuristic.short_answer import expected_type, find_short_answer
from qa.reading.types import DocumentSpan, Reading, ScoredSentence
from qa.reference import reference_baseline
from qa.stitching import near_duplicate
from qa.text import lexical_terms, question_language
from qa.types import PassageHit


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


class HeuristicReader:
    name = "heuristic"

    def __init__(self, index: SearchableIndex, policy: AnswerPolicy | None = None) -> None:
        self.index = index
        self.policy = policy or default_policy(index.manifest.model_id)
        self._sentence_terms = {s.id: lexical_terms(s.text) for s in index.all_sentences()}
        document_frequency = Counter(t for terms in self._sentence_terms.values() for t in terms)
        total = max(1, len(self._sentence_terms))
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unseen_idf = math.log(1 + total)

    def read(self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]) -> Reading:
        chosen = self.choose_sentences(question, query_vector, hits)
        if not chosen or not self.policy.abstention.answerable(
            self.abstention_signal(question, query_vector, hits, chosen[0])
        ):
            return Reading(())
        return Reading(tuple(chosen), self._short_answer(question, chosen))

    @staticmethod
    def _short_answer(question: str, chosen: list[ScoredSentence]) -> DocumentSpan | None:
        """The short answer inside the best chosen sentence that has one."""
        for best in chosen:
            found = find_short_answer(question, best.sentence.text)
            if found is not None:
                start = best.sentence.start
                return DocumentSpan(best.sentence.doc_id, start + found.start, start + found.end)
        return None

    def choose_sentences(self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]) -> list[ScoredSentence]:
        scored = self.score_sentences(question, query_vector, hits)
        if not scored:
            return []
        best = scored[0].score
        chosen: list[ScoredSentence] = []
        for candidate in scored:
            if len(chosen) >= self.policy.max_sentences or candidate.score < best - self.policy.sentence_margin:
                break
            if not any(near_duplicate(candidate.sentence, c.sentence) for c in chosen):
                chosen.append(candidate)
        return chosen

    def abstention_signal(
        self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit], best: ScoredSentence
    ) -> AbstentionSignal:
        """The signals for `hits` and the best sentence chosen from them."""
        passage = self.index.passage(best.passage_id)
        passage_terms = set().union(*(self._sentence_terms[i] for i in passage.sentence_ids))
        weights = self._term_weights(question)
        sentence_id = best.sentence.id
        typed = expected_type(question) in ("number", "time")
        short = find_short_answer(question, best.sentence.text)
        return AbstentionSignal(
            margin=max(h.score for h in hits) - reference_baseline(self.index.reference_vectors, query_vector),
            passage_coverage=self._coverage(weights, passage_terms),
            sentence_cosine=float(self.index.sentence_cosines([sentence_id], query_vector)[0]),
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
        self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]
    ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Candidates (sentence id, passage id): every sentence of the retrieved passages once,
        credited to the best passage holding it; and their features, one row each:
        [cosine with the question, that passage's cosine, lexical coverage of the question]."""
        best_passage: dict[int, tuple[int, float]] = {}
        for hit in hits:
            for sentence_id in self.index.passage(hit.passage_id).sentence_ids:
                if sentence_id not in best_passage or best_passage[sentence_id][1] < hit.score:
                    best_passage[sentence_id] = (hit.passage_id, hit.score)
        ids = list(best_passage)
        features = np.zeros((len(ids), 3), dtype=np.float32)
        if ids:
            features[:, 0] = self.index.sentence_cosines(ids, query_vector)
            weights = self._term_weights(question)
            for row, sentence_id in enumerate(ids):
                features[row, 1] = best_passage[sentence_id][1]
                features[row, 2] = self._coverage(weights, self._sentence_terms[sentence_id])
        return [(i, best_passage[i][0]) for i in ids], features

    def score_sentences(self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]) -> list[ScoredSentence]:
        """Every sentence of the retrieved passages, scored, best first."""
        candidates, features = self.sentence_features(question, query_vector, hits)
        policy = self.policy
        scores = features @ np.array([policy.sentence_weight, policy.passage_weight, policy.lexical_weight], dtype=np.float32)
        scored = [
            ScoredSentence(self.index.sentence(sentence_id), passage_id, float(score))
            for (sentence_id, passage_id), score in zip(candidates, scores)
        ]
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored
