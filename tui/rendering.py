"""Questions, answers and passages as Textual `Content`, built span by span.

Document and question text is data: it is never parsed as markup, and control characters
(ESC, bidi overrides) are made visible with `qa.render.literal`, so `[bold]`, `[/]` or
`\\x1b[31m` in a document show as typed. Styles use theme variables so that light and dark
themes both read well.
"""

from __future__ import annotations

import re

from textual.content import Content
from textual.style import Style

from qa.render import literal, safe_inline
from qa.types import Answer, Citation, PassageHit
from qa.export import short_answer_of

MARKER_STYLE = "bold $text-accent"
QUOTE_STYLE = "bold $foreground on $accent-muted"
SHORT_ANSWER_STYLE = "bold underline $text-warning"
DIM_STYLE = "$foreground-muted"
_MARKER = re.compile(r"\[(\d+)\]")


def marker(n: int, clickable: bool = True) -> Content:
    """`[n]`, styled; a click runs the widget's `cite(n)` action."""
    content = Content(f"[{n}]").stylize(MARKER_STYLE)
    return content.stylize(Style.from_meta({"@click": f"cite({n})"})) if clickable else content


def question_content(question: str) -> Content:
    return Content(literal(question))


def answer_content(answer: Answer) -> Content:
    """The answer text with its `[n]` markers styled and clickable. The markers are found
    from the citations (each cited sentence is followed by its marker), so a `[3]` inside a
    quoted sentence stays plain text. A follow-up shows first the question it was read as."""
    content = _answer_body(answer)
    if answer.resolved_question:
        return Content.assemble(Content(f"Read as: {safe_inline(answer.resolved_question)}").stylize(DIM_STYLE), "\n", content)
    return content


def _answer_body(answer: Answer) -> Content:
    if answer.abstained:
        return Content.assemble(
            Content(literal(answer.answer)).stylize("italic"),
            "\n",
            Content("No passage of the documents answers this; Sources lists what was searched.").stylize(DIM_STYLE),
        )
    parts: list[Content | str] = []
    cursor = 0
    body = answer.answer
    for citation in answer.citations:
        cited = f"{citation.text}[{citation.n}]"
        found = body.find(cited, cursor)
        if found < 0:
            return _answer_by_pattern(body)
        parts.append(Content(literal(body[cursor : found + len(citation.text)])))
        parts.append(marker(citation.n))
        cursor = found + len(cited)
    parts.append(Content(literal(body[cursor:])))
    return Content.assemble(*parts)


def _answer_by_pattern(body: str) -> Content:
    """Fallback when the text does not follow the citations: style every `[n]`."""
    parts: list[Content | str] = []
    cursor = 0
    for match in _MARKER.finditer(body):
        parts.append(Content(literal(body[cursor : match.start()])))
        parts.append(marker(int(match.group(1))))
        cursor = match.end()
    parts.append(Content(literal(body[cursor:])))
    return Content.assemble(*parts)


def citation_header(citation: Citation) -> Content:
    return Content.assemble(
        marker(citation.n, clickable=False),
        " ",
        Content(safe_inline(citation.doc)).stylize("bold"),
        Content(f"  {citation.location}").stylize(DIM_STYLE),
    )


def passage_header(hit: PassageHit, rank: int) -> Content:
    return Content.assemble(
        Content(f"#{rank} ").stylize(DIM_STYLE),
        Content(safe_inline(hit.doc)).stylize("bold"),
        Content(f"  chars {hit.start}-{hit.end}  score {hit.score:.2f}").stylize(DIM_STYLE),
    )


def cited_passage(citation: Citation, hit: PassageHit | None, short_span: tuple[int, int] | None = None) -> Content:
    """The passage holding the citation, with the quoted sentence highlighted (and the short
    answer inside it, `short_span` being offsets into the quote). Offsets are cut on the raw
    text before `literal`, which may lengthen it."""
    if hit is None or not (hit.start <= citation.start <= citation.end <= hit.end):
        before, after = "", ""
    else:
        before = hit.text[: citation.start - hit.start]
        after = hit.text[citation.end - hit.start :]
    return Content.assemble(
        Content(literal(before)).stylize(DIM_STYLE),
        _quote(citation.text, short_span),
        Content(literal(after)).stylize(DIM_STYLE),
    )


def _quote(text: str, short_span: tuple[int, int] | None) -> Content:
    if short_span is None:
        return Content(literal(text)).stylize(QUOTE_STYLE)
    start, end = short_span
    return Content.assemble(
        Content(literal(text[:start])).stylize(QUOTE_STYLE),
        Content(literal(text[start:end])).stylize(QUOTE_STYLE).stylize(SHORT_ANSWER_STYLE),
        Content(literal(text[end:])).stylize(QUOTE_STYLE),
    )


def searched_passage(hit: PassageHit) -> Content:
    return Content(literal(hit.text)).stylize(DIM_STYLE)


def short_answer_content(answer: Answer) -> Content | None:
    short = short_answer_of(answer)
    if short is None:
        return None
    parts: list[Content | str] = [Content("Short answer: ").stylize("bold"), Content(literal(short)).stylize(SHORT_ANSWER_STYLE)]
    cited_n = getattr(answer, "short_answer_citation", None)
    if isinstance(cited_n, int):
        parts += [" ", marker(cited_n, clickable=False)]
    return Content.assemble(*parts)


def welcome_content() -> Content:
    return Content.assemble(
        Content("Ask about your documents.").stylize("bold"),
        " Every answer sentence is quoted from them and followed by its source ",
        marker(1, clickable=False),
        "; click a marker, or select an answer, to see its sources. F1: help.",
    )


def notice_content(title: str, text: str) -> Content:
    return Content.assemble(Content(f"{title}: ").stylize("bold"), Content(safe_inline(text)))
