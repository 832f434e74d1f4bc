"""Structure-aware units of Markdown and HTML documents (their `Document.blocks`).

Structure is context, not an answer:
- a heading is no sentence to quote: it is the context of the passages that start in its
  section, which retrieval (and the reader) see with the passage;
- a table's header row is the context of the table's rows; each row is one sentence;
- a line ending in a colon ("then run:") is one sentence with the code block or list right
  after it (as many of its lines as fit), so the command it introduces is quoted with it.
Text outside blocks is prose, split into sentences as plain text is.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.source_map import TextBlock

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
INTRO_ENDINGS = (":", "：")
CONTEXT_SEPARATOR = " > "


@dataclass(frozen=True)
class Unit:
    """A citable span (a sentence, a table row, an introduction with its block) and the
    context it is read in."""

    start: int
    end: int
    context: str
    """Headings above it, joined by ' > ', then the table's header row on its own line; empty
    when none."""


def structured_units(text: str, blocks: tuple[TextBlock, ...], max_chars: int, split_sentences) -> list[Unit]:
    """The citable units of `text`, in order. `split_sentences(text, max_chars)` gives the
    sentence spans of prose (index.passages.split_sentence_spans)."""
    units: list[Unit] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the open sections
    table_header = ""

    def context() -> str:
        path = CONTEXT_SEPARATOR.join(title for _, title in headings)
        return "\n".join(part for part in (path, table_header) if part)

    def prose(start: int, end: int) -> None:
        nonlocal table_header
        if text[start:end].strip():
            table_header = ""  # prose after a table is no longer read with its header
        for s, e in split_sentences(text[start:end], max_chars):
            units.append(Unit(start + s, start + e, context()))

    cursor = 0
    for block in sorted(blocks, key=lambda b: b.start):
        if block.start < cursor:
            continue  # overlapping blocks are not produced by the converters; skip defensively
        prose(cursor, block.start)
        cursor = block.end
        if block.kind != "tr":
            table_header = ""
        if block.kind in HEADINGS:
            level = HEADINGS.index(block.kind) + 1
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, " ".join(text[block.start : block.end].split())))
        elif block.kind == "thead":
            table_header = " ".join(text[block.start : block.end].split())
        elif block.kind == "tr":  # one row, one unit (cut at clauses only when too long)
            row = [(0, block.end - block.start)]
            if block.end - block.start > max_chars:
                row = split_sentences(text[block.start : block.end], max_chars)
            units.extend(Unit(block.start + s, block.start + e, context()) for s, e in row)
        else:  # code or list: its lines, the first ones joined to an introduction before it
            lines = _line_spans(text, block.start, block.end)
            intro = units[-1] if units and _introduces(text, units[-1], block.start) else None
            if intro is not None:
                taken = 0
                while taken < len(lines) and lines[taken][1] - intro.start <= max_chars:
                    taken += 1
                if taken:
                    units[-1] = Unit(intro.start, lines[taken - 1][1], intro.context)
                    lines = lines[taken:]
            for s, e in lines:
                units.extend(Unit(s + a, s + b, context()) for a, b in split_sentences(text[s:e], max_chars))
    prose(cursor, len(text))
    return units


def _introduces(text: str, unit: Unit, block_start: int) -> bool:
    """Whether `unit` ends its line with a colon and only a line break lies before the block."""
    return text[unit.end - 1] in INTRO_ENDINGS and not text[unit.end : block_start].strip()


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, line_start = [], start
    for k in range(start, end + 1):
        if k == end or text[k] == "\n":
            if text[line_start:k].strip():
                spans.append((line_start, k))
            line_start = k + 1
    return spans
