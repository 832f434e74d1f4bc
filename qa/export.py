"""Plain-text and Markdown renderings of answers with their citations (clipboard, export).

Document text stays exact (a quote is the document's text) except that control characters
are made visible, as everywhere else in the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from qa.render import literal, safe_inline
from qa.types import Answer, Citation


def short_answer_of(answer: Answer) -> str | None:
    """The answer's short answer, when it has one."""
    short = getattr(answer, "short_answer", None)
    if short is not None and not isinstance(short, str):
        short = getattr(short, "text", None)
    return short if isinstance(short, str) and short.strip() else None


def short_answer_span(answer: Answer, citation: Citation) -> tuple[int, int] | None:
    """Where the short answer lies in `citation.text` (offsets into it), if it lies there.
    Uses the answer's `short_answer_citation` / `_start` / `_end` when it has them, else the
    first occurrence of the short answer in the quote."""
    short = short_answer_of(answer)
    if short is None:
        return None
    cited_n = getattr(answer, "short_answer_citation", None)
    if isinstance(cited_n, int) and cited_n != citation.n:
        return None
    start, end = getattr(answer, "short_answer_start", None), getattr(answer, "short_answer_end", None)
    if isinstance(start, int) and isinstance(end, int) and citation.start <= start < end <= citation.end:
        return start - citation.start, end - citation.start
    at = citation.text.find(short)
    return (at, at + len(short)) if at >= 0 else None


def span_label(citation: Citation) -> str:
    return f"{safe_inline(citation.doc)}, {citation.location}"


def answer_with_sources(answer: Answer) -> str:
    """The answer followed by its numbered sources: what `copy` puts on the clipboard."""
    lines = [literal(answer.answer)]
    short = short_answer_of(answer)
    if short:
        lines += ["", f"Short answer: {literal(short)}"]
    if answer.citations:
        lines += ["", "Sources"]
        for citation in answer.citations:
            lines.append(f"[{citation.n}] {span_label(citation)}")
            lines.append(f"    {safe_inline(citation.text)}")
    return "\n".join(lines) + "\n"


def conversation_markdown(answers: Sequence[Answer], exported_at: datetime) -> str:
    """The conversation as Markdown: each question, its answer and its cited sources."""
    parts = [f"# citeqa conversation\n\nExported {exported_at:%Y-%m-%d %H:%M:%S}.\n"]
    for answer in answers:
        parts.append(f"## {safe_inline(answer.question)}\n")
        if answer.abstained:
            parts.append(f"_{literal(answer.answer)}_ (no passage of the documents answers this)\n")
            continue
        parts.append(f"{literal(answer.answer)}\n")
        short = short_answer_of(answer)
        if short:
            parts.append(f"Short answer: **{safe_inline(short)}**\n")
        sources = []
        for citation in answer.citations:
            sources.append(f"{citation.n}. `{span_label(citation)}`\n   > {safe_inline(citation.text)}")
        parts.append("Sources:\n\n" + "\n".join(sources) + "\n")
    return "\n".join(parts)


def write_markdown(answers: Sequence[Answer], directory: Path, now: datetime) -> Path:
    """Write `qa-chat-YYYYmmdd-HHMMSS.md` in `directory` (never over an existing file)."""
    stem = f"qa-chat-{now:%Y%m%d-%H%M%S}"
    path = directory / f"{stem}.md"
    text = conversation_markdown(answers, now)
    suffix = 1
    while True:
        try:
            with path.open("x", encoding="utf-8") as file:
                file.write(text)
            return path
        except FileExistsError:
            suffix += 1
            path = directory / f"{stem}-{suffix}.md"
