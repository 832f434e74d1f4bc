"""What a reader gives the answerer: the sentences that answer, and the short answer in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from index.passages import Sentence
from qa.types import PassageHit


@dataclass(frozen=True)
class ScoredSentence:
    sentence: Sentence
    passage_id: int
    """The retrieved passage it was read in."""
    score: float


@dataclass(frozen=True)
class DocumentSpan:
    doc: str
    start: int
    """Character offsets in the document's text, half-open."""
    end: int


@dataclass(frozen=True)
class Reading:
    sentences: tuple[ScoredSentence, ...]
    """The answer's sentences, best first; empty when the passages do not answer."""
    short_answer: DocumentSpan | None = None
    """The short answer, inside one of `sentences`."""
    probability: float | None = None
    """Calibrated probability that the passages answer the question (None: not calibrated)."""

    @property
    def abstained(self) -> bool:
        return not self.sentences


class Reader(Protocol):
    """Reads the retrieved passages for a question: the trained span reader
    (qa/reading/trained.py) or the heuristic scorer (qa/reading/heuristic/)."""

    name: str

    def read(self, question: str, query_vector: np.ndarray, hits: Sequence[PassageHit]) -> Reading: ...
