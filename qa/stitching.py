"""Stitching: the chosen sentences as one cited answer, and the short answer's citation."""

from __future__ import annotations

import unicodedata
from typing import Sequence

from index.passages import Sentence
from index.stores import SearchableIndex
from qa.reading.types import DocumentSpan, ScoredSentence
from qa.text import question_language
from qa.types import Citation, ShortAnswerSpan


def stitch(index: SearchableIndex, chosen: Sequence[ScoredSentence]) -> tuple[str, tuple[Citation, ...]]:
    """Chosen sentences in document order (documents by their best sentence), each cited."""
    doc_rank: dict[str, int] = {}
    for item in chosen:
        doc_rank.setdefault(item.sentence.doc_id, len(doc_rank))
    ordered = sorted(chosen, key=lambda s: (doc_rank[s.sentence.doc_id], s.sentence.start))
    citations = []
    parts = []
    for n, item in enumerate(ordered, start=1):
        sentence = item.sentence
        document = index.document(sentence.doc_id)
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
    text = parts[0] if parts else ""
    for before, after, part in zip(ordered, ordered[1:], parts[1:]):
        text += ("\n" if _on_other_lines(index, before.sentence, after.sentence) else separator) + part
    return text, tuple(citations)


def _on_other_lines(index: SearchableIndex, before: Sentence, after: Sentence) -> bool:
    """Whether two cited sentences are in different documents or a line break parts them (a
    heading, a byline, another paragraph): the answer keeps them on lines of their own."""
    if before.doc_id != after.doc_id:
        return True
    return "\n" in index.document(before.doc_id).text[before.end : after.start]


def cite_span(index: SearchableIndex, span: DocumentSpan, citations: Sequence[Citation]) -> ShortAnswerSpan | None:
    """The short answer, cited by the sentence it starts in (None when no citation holds it)."""
    for citation in citations:
        if citation.doc == span.doc and citation.start <= span.start < citation.end:
            text = index.document(span.doc).text[span.start : span.end]
            return ShortAnswerSpan(text, citation.n, span.start, span.end)
    return None


def near_duplicate(a: Sentence, b: Sentence) -> bool:
    """The same span, overlapping spans, or the same words (a repeated sentence)."""
    if a.doc_id == b.doc_id and a.start < b.end and b.start < a.end:
        return True
    return _comparable(a.text) == _comparable(b.text)


def _comparable(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
