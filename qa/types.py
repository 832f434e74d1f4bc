"""What flows out of the answerer: hits, citations and answers (all JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PassageHit:
    passage_id: int
    doc: str
    start: int
    """Character offset of the passage in its document's text (half-open span)."""
    end: int
    score: float
    """Cosine similarity of the question and the passage."""
    text: str


@dataclass(frozen=True)
class Citation:
    n: int
    """The marker number: the answer text cites this as `[n]`."""
    doc: str
    start: int
    """Character offset into the document's stored text; `text == document[start:end]`."""
    end: int
    text: str
    passage_id: int
    """The retrieved passage the sentence was found in (shown as its context)."""
    score: float
    """The sentence's answer score (higher is better)."""
    source_start: int | None = None
    """Where the quote is in the file's decoded text (newlines normalised), half-open: the
    same as `start` for plain text, the span of the Markdown or HTML source the plain text
    was extracted from; None for a PDF."""
    source_end: int | None = None
    line_start: int | None = None
    """First line of the file the quote comes from (1-based); None for a PDF."""
    line_end: int | None = None
    """Last line of the file the quote comes from (inclusive)."""
    page: int | None = None
    """PDF only: the page the quote starts on (1-based)."""

    @property
    def file_position(self) -> str:
        """Where to look in the file: `p. 3` for a PDF, `line 12` or `lines 12-14`, or ""
        when the document has no line information."""
        if self.page is not None:
            return f"p. {self.page}"
        if self.line_start is None:
            return ""
        if self.line_end is None or self.line_end == self.line_start:
            return f"line {self.line_start}"
        return f"lines {self.line_start}-{self.line_end}"

    @property
    def location(self) -> str:
        """The span in the stored text, then the file position: `chars 10-42, line 3`."""
        position = self.file_position
        return f"chars {self.start}-{self.end}" + (f", {position}" if position else "")


@dataclass(frozen=True)
class ShortAnswerSpan:
    """The short answer: a span of one cited sentence, with document offsets (half-open)."""

    text: str
    citation: int
    """The `n` of the citation that holds it."""
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    """Cited sentences stitched in document order, each followed by its `[n]`; or the
    abstention message."""
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[PassageHit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    language: str = "zh"
    """`zh` or `en`: the language of the question, and of the abstention message."""
    short_answer: str | None = None
    """The span of a cited sentence that answers the question (a number with its unit, a
    date, a name or term), or None when no such span was found."""
    short_answer_citation: int | None = None
    """The `n` of the citation that holds the short answer."""
    short_answer_start: int | None = None
    """Offset of the short answer in the document's text (half-open, like citations)."""
    short_answer_end: int | None = None
    resolved_question: str | None = None
    """For a follow-up question, the text actually answered (previous question + this one)."""
    answer_probability: float | None = None
    """The trained reader's calibrated probability that the documents answer the question
    (None with the heuristic reader)."""
    reader: str = "heuristic"
    """`trained` (the span reader) or `heuristic` (sentence scoring and slot rules)."""

    def to_json(self, include_passage_text: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        data["passages"] = [
            {k: v for k, v in asdict(p).items() if include_passage_text or k != "text"}
            for p in self.passages
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Answer":
        """The answer `to_json(include_passage_text=True)` gave (unknown keys are ignored, so
        answers logged by an older or newer version still load); ValueError when it is not one."""
        try:
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            known["citations"] = tuple(Citation(**_fields(Citation, c)) for c in data.get("citations", ()))
            known["passages"] = tuple(PassageHit(**{"text": "", **_fields(PassageHit, p)}) for p in data.get("passages", ()))
            known["timings_ms"] = dict(data.get("timings_ms") or {})
            return cls(**known)
        except (TypeError, AttributeError) as error:
            raise ValueError(f"not an answer: {error}") from None


def _fields(kind: type, row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in kind.__dataclass_fields__}
