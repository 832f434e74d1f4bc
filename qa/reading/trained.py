"""The trained reader as the answerer's reader: the span reader (qa/reading/reader.py) over
the top retrieved passages; the answer is the sentence holding the best span."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from index.stores import SearchableIndex
from qa.reading.reader import Calibration, PassageReader, SpanReading
from qa.reading.types import DocumentSpan, Reading, ScoredSentence
from qa.stitching import near_duplicate
from qa.text import in_script_of, question_language
from qa.types import PassageHit


class TrainedReader:
    name = "trained"

    def __init__(self, index: SearchableIndex, span_reader: PassageReader, calibration: Calibration) -> None:
        self.index = index
        self.span_reader = span_reader
        self.calibration = calibration

    def read(self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]) -> Reading:
        """The sentence(s) holding the best span, and another passage's span sentence when
        that one is confident too; nothing when no span reaches the calibrated threshold."""
        if not hits:
            return Reading((), None, 0.0)
        calibration = self.calibration.for_question(question_language(question), question_language(hits[0].text))
        read = list(hits[: calibration.read_k])
        first = calibration.first_read or len(read)
        readings = self.read_spans(question, read[:first])
        ranked = _ranked(readings, read, calibration.rank_penalty)
        if len(read) > first:
            p = calibration.probability(ranked[0][0].answer_margin) if ranked else 0.0
            if calibration.hopeless <= p < calibration.confident:
                readings += self.read_spans(question, read[first:])
                ranked = _ranked(readings, read, calibration.rank_penalty)
        if not ranked:
            return Reading((), None, 0.0)
        best, best_hit = ranked[0]
        probability = calibration.probability(best.answer_margin)
        if probability < calibration.threshold:
            return Reading((), None, probability)
        chosen = self._span_sentences(best_hit, best.start, best.end, probability)
        for reading, hit in ranked[1:]:
            other = calibration.probability(reading.answer_margin)
            if other < calibration.second_threshold:
                break
            extra = self._span_sentences(hit, reading.start, reading.start + 1, other)
            if extra and not any(near_duplicate(extra[0].sentence, c.sentence) for c in chosen):
                chosen.append(extra[0])
                break
        span = DocumentSpan(best_hit.doc, best_hit.start + best.start, best_hit.start + best.end)
        return Reading(tuple(chosen), span, probability)

    def read_spans(self, question: str, hits: Sequence[PassageHit]) -> list[SpanReading | None]:
        """The best span of each hit's passage (None where none may be taken), in passage text
        offsets; bench/reader_readings.py shows them."""
        # A passage is read under its headings (and a table row under its header row), but a
        # span is only taken from its sentences: never from a heading or a header row.
        passages = [self.index.passage(h.passage_id) for h in hits]
        texts = [p.retrieval_text for p in passages]
        shifts = [len(p.retrieval_text) - len(p.text) for p in passages]
        allowed = [
            [(s.start - p.start + shift, s.end - p.start + shift) for s in map(self.index.sentence, p.sentence_ids)]
            for p, shift in zip(passages, shifts)
        ]
        return [
            None if r is None else replace(r, start=r.start - shift, end=r.end - shift)
            for r, shift in zip(self.span_reader.read(in_script_of(question, texts), texts, allowed), shifts)
        ]

    def _span_sentences(self, hit: PassageHit, start: int, end: int, score: float) -> list[ScoredSentence]:
        """The sentences of the hit's passage that the span [start, end) (passage offsets) touches."""
        start, end = hit.start + start, hit.start + end
        passage = self.index.passage(hit.passage_id)
        sentences = [self.index.sentence(i) for i in passage.sentence_ids]
        touched = [s for s in sentences if s.start < end and start < s.end]
        return [ScoredSentence(s, hit.passage_id, score) for s in touched]


def _ranked(readings: Sequence[SpanReading | None], hits: Sequence[PassageHit], rank_penalty: float) -> list[tuple[SpanReading, PassageHit]]:
    """The spans found, best first: by margin less rank_penalty per place below the first hit."""
    found = [(rank, r, h) for rank, (r, h) in enumerate(zip(readings, hits)) if r is not None]
    found.sort(key=lambda rank_r_h: rank_penalty * rank_r_h[0] - rank_r_h[1].margin)
    return [(r, h) for _, r, h in found]
